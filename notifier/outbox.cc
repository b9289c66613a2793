#include "notifier/outbox.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace goalkeeper {
namespace {

uint64_t Fnv1a(absl::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace

absl::string_view ChannelName(Channel channel) {
  switch (channel) {
    case Channel::kEmail:
      return "email";
    case Channel::kTelegram:
      return "telegram";
  }
  return "unknown";
}

std::optional<Channel> ParseChannel(absl::string_view name) {
  for (Channel c : kAllChannels) {
    if (ChannelName(c) == name) return c;
  }
  return std::nullopt;
}

std::string MessageIdFor(const std::string& key) {
  return absl::StrFormat("<%016x.%016x@goalkeeper>", Fnv1a(key), Fnv1a(absl::StrCat("gk:", key)));
}

}  // namespace goalkeeper
