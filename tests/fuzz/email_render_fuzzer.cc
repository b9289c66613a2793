// Fuzzes the mail builder (notifier/email_render.h) with arbitrary header
// values: owner names and addresses come from the owner APIs and the
// config, so they are outside input.
//
// Input: fields separated by '\x01': from, to (mailboxes separated by
// '\x02'), cc (likewise), subject, message id, text
// body, html body, then a probe's evidence (service, version, banner, a fact,
// one byte of flags: verified, auth, UDP, TLS; one of amplification), whose
// line of what was seen (notifier/exposure_text.h) goes into the text body.
// Checks:
// - the header section (up to the first empty line) holds only the
//   builder's own header names, each line a header or a fold, none over 998
//   octets, no bare CR or LF anywhere in it;
// - a given Message-ID that NormalizeMessageId keeps is the one sent;
// - the line of what was seen is printable ASCII of at most kMaxSeenText bytes;
// - ParseMailbox never returns a control character; ValidEnvelopeAddress
//   accepts no space, control, '<', '>' or ','.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "notifier/email_render.h"
#include "notifier/exposure_text.h"
#include "tests/fuzz/fuzz_check.h"

namespace goalkeeper {
namespace {

bool HasControl(absl::string_view s) {
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

std::vector<std::string> Mailboxes(absl::string_view s) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  for (absl::string_view m : absl::StrSplit(s, '\x02')) out.emplace_back(m);
  return out;
}

}  // namespace
}  // namespace goalkeeper

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace goalkeeper;
  const std::vector<absl::string_view> f = absl::StrSplit(FuzzText(data, size), '\x01');
  auto field = [&f](size_t i) { return i < f.size() ? std::string(f[i]) : std::string(); };
  EmailMessage m;
  m.from = field(0);
  m.to = Mailboxes(field(1));
  m.cc = Mailboxes(field(2));
  m.subject = field(3);
  m.message_id = field(4);
  m.text_body = field(5);
  m.html_body = field(6);
  m.date = absl::FromUnixSeconds(1'800'000'000);

  probes::Evidence ev;
  ev.service = field(7);
  ev.version = field(8);
  ev.banner = field(9);
  ev.facts.push_back(field(10));
  const std::string flags = field(11);
  const unsigned char bits = flags.empty() ? 0 : static_cast<unsigned char>(flags[0]);
  ev.verified = (bits & 1) != 0;
  ev.auth = static_cast<probes::Auth>((bits >> 1) % 3);
  ev.tls_offered = (bits & 16) != 0;
  ev.amplification = flags.size() > 1 ? static_cast<unsigned char>(flags[1]) / 3.0 : 0;
  const std::string seen =
      SeenText(static_cast<uint32_t>(size),
               (bits & 8) != 0 ? probes::Transport::kUdp : probes::Transport::kTcp, ev);
  FUZZ_CHECK(seen.size() <= kMaxSeenText);
  for (char c : seen) FUZZ_CHECK(c >= 0x20 && c <= 0x7e);
  m.text_body += "\n    Seen: " + seen + ".\n";

  for (const std::string& raw : {m.from, field(1), field(3)}) {
    const Mailbox box = ParseMailbox(raw);
    FUZZ_CHECK(!HasControl(box.display) && !HasControl(box.address));
    if (ValidEnvelopeAddress(box.address)) {
      for (char c : box.address) FUZZ_CHECK(c != ' ' && c != '<' && c != '>' && c != ',');
      FUZZ_CHECK(!HasControl(box.address));
    }
  }

  const std::string text = RenderMessage(m);
  const size_t end = text.find("\r\n\r\n");
  FUZZ_CHECK(end != std::string::npos);
  const std::string headers = text.substr(0, end + 2);
  static const std::set<std::string> kNames = {
      "Date",       "From",           "To",           "Cc",           "Subject",
      "Message-ID", "Auto-Submitted", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"};
  size_t pos = 0;
  while (pos < headers.size()) {
    const size_t eol = headers.find("\r\n", pos);
    FUZZ_CHECK(eol != std::string::npos);
    const std::string line = headers.substr(pos, eol - pos);
    pos = eol + 2;
    FUZZ_CHECK(line.size() <= 998);
    FUZZ_CHECK(line.find('\r') == std::string::npos && line.find('\n') == std::string::npos);
    FUZZ_CHECK(!line.empty());
    if (line[0] == ' ' || line[0] == '\t') continue;  // a fold
    const size_t colon = line.find(':');
    FUZZ_CHECK(colon != std::string::npos);
    FUZZ_CHECK(kNames.count(line.substr(0, colon)) == 1);
  }
  const std::string id = NormalizeMessageId(m.message_id);
  if (!id.empty()) FUZZ_CHECK(headers.find("Message-ID: " + id + "\r\n") != std::string::npos);
  return 0;
}
