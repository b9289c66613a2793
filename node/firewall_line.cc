#include "node/firewall_line.h"

#include <array>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"

namespace goalkeeper {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` decimal digits at text[pos..]; false if any is not one.
bool Digits(absl::string_view text, size_t pos, size_t n, int* value) {
  if (pos + n > text.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!IsDigit(text[i])) return false;
    v = v * 10 + (text[i] - '0');
  }
  *value = v;
  return true;
}

// A whole decimal number in [0, max] of 1..6 digits, nothing else.
template <typename T>
std::optional<T> SmallNumber(absl::string_view s, uint32_t max) {
  if (s.empty() || s.size() > 6) return std::nullopt;
  uint32_t v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return std::nullopt;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v > max) return std::nullopt;
  return static_cast<T>(v);
}

int MonthNumber(absl::string_view m) {
  static constexpr std::array<absl::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (m == kMonths[i]) return static_cast<int>(i) + 1;
  }
  return 0;
}

// "IN=" starting the LOG fields: the first one whose value (up to a space)
// is followed by " OUT=". npos if none.
size_t FindFields(absl::string_view msg) {
  size_t from = 0;
  while (true) {
    const size_t pos = msg.find("IN=", from);
    if (pos == absl::string_view::npos) return pos;
    const size_t space = msg.find(' ', pos + 3);
    if (space != absl::string_view::npos && msg.substr(space + 1, 4) == "OUT=") return pos;
    from = pos + 3;
  }
}

// Skips a kernel uptime stamp "[ 81234.567890] " at the start of `msg`.
absl::string_view SkipUptime(absl::string_view msg) {
  if (msg.empty() || msg[0] != '[') return msg;
  const size_t close = msg.find(']');
  if (close == absl::string_view::npos || close > 32) return msg;
  for (size_t i = 1; i < close; ++i) {
    if (!IsDigit(msg[i]) && msg[i] != '.' && msg[i] != ' ') return msg;
  }
  msg.remove_prefix(close + 1);
  if (!msg.empty() && msg[0] == ' ') msg.remove_prefix(1);
  return msg;
}

enum FieldBit : uint32_t {
  kIn = 1,
  kOut = 2,
  kMac = 4,
  kSrc = 8,
  kDst = 16,
  kProto = 32,
  kSpt = 64,
  kDpt = 128,
  kType = 256,
  kCode = 512,
};

// The bit of a LOG field key; 0 for keys not read (LEN, TOS, TTL, ...).
uint32_t FieldBitOf(absl::string_view key) {
  switch (key.size()) {
    case 2:
      if (key == "IN") return kIn;
      return 0;
    case 3:
      if (key == "SRC") return kSrc;
      if (key == "DST") return kDst;
      if (key == "SPT") return kSpt;
      if (key == "DPT") return kDpt;
      if (key == "OUT") return kOut;
      if (key == "MAC") return kMac;
      return 0;
    case 4:
      if (key == "TYPE") return kType;
      if (key == "CODE") return kCode;
      return 0;
    case 5:
      if (key == "PROTO") return kProto;
      return 0;
    default:
      return 0;
  }
}

// Parses a kernel message "[uptime] PREFIX IN=... OUT=... SRC=...".
FirewallLineStatus ParseMessage(absl::string_view msg, FirewallLine* out) {
  msg = SkipUptime(msg);
  const size_t fields = FindFields(msg);
  if (fields == absl::string_view::npos) return FirewallLineStatus::kNotFirewall;
  out->prefix = msg.substr(0, fields);
  out->message = msg;
  out->mac.reset();
  out->spt.reset();
  out->dpt.reset();
  out->icmp_type.reset();
  out->icmp_code.reset();
  out->proto = {};
  uint32_t seen = 0;
  absl::string_view rest = msg.substr(fields);
  while (!rest.empty()) {
    // Tokens are short: a byte loop beats a memchr call per token here.
    size_t space = 0;
    size_t eq = absl::string_view::npos;
    while (space < rest.size() && rest[space] != ' ') {
      if (rest[space] == '=' && eq == absl::string_view::npos) eq = space;
      ++space;
    }
    const absl::string_view token = rest.substr(0, space);
    rest = space == rest.size() ? absl::string_view() : rest.substr(space + 1);
    if (token.empty()) continue;
    if (token[0] == '[') break;                   // the quoted header of an ICMP error
    if (eq == absl::string_view::npos) continue;  // a flag: DF, SYN, ...
    const absl::string_view key = token.substr(0, eq);
    const absl::string_view value = token.substr(eq + 1);
    const uint32_t bit = FieldBitOf(key);
    if (bit == 0) continue;    // LEN, TOS, TTL, ID, ...
    if (seen & bit) continue;  // the first LEN=, SRC=, ... counts
    seen |= bit;
    switch (bit) {
      case kIn:
        out->in = value;
        break;
      case kOut:
        out->out = value;
        break;
      case kMac:
        out->mac = value;
        break;
      case kSrc:
      case kDst: {
        std::optional<IpAddress> a = IpAddress::Parse(value);
        if (!a) return FirewallLineStatus::kBadField;
        (bit == kSrc ? out->src : out->dst) = *a;
        break;
      }
      case kProto:
        if (value.empty() || value.size() > 16) return FirewallLineStatus::kBadField;
        out->proto = value;
        break;
      case kSpt:
      case kDpt: {
        std::optional<uint16_t> p = SmallNumber<uint16_t>(value, 65535);
        if (!p) return FirewallLineStatus::kBadField;
        (bit == kSpt ? out->spt : out->dpt) = *p;
        break;
      }
      case kType:
      case kCode: {
        std::optional<uint8_t> v = SmallNumber<uint8_t>(value, 255);
        if (!v) return FirewallLineStatus::kBadField;
        (bit == kType ? out->icmp_type : out->icmp_code) = *v;
        break;
      }
      default:
        break;
    }
  }
  constexpr uint32_t kRequired = kIn | kOut | kSrc | kDst | kProto;
  if ((seen & kRequired) != kRequired) return FirewallLineStatus::kBadField;
  return FirewallLineStatus::kOk;
}

std::optional<absl::Time> CivilInZone(int year, int month, int day, int hour, int minute,
                                      int second, absl::TimeZone zone) {
  const absl::CivilSecond cs(year, month, day, hour, minute, second);
  if (cs.month() != month || cs.day() != day) return std::nullopt;  // Feb 30, Feb 29 of 2025
  return absl::FromCivil(cs, zone);
}

}  // namespace

absl::string_view FirewallLineStatusText(FirewallLineStatus status) {
  switch (status) {
    case FirewallLineStatus::kOk:
      return "ok";
    case FirewallLineStatus::kTooLong:
      return "line longer than 65536 bytes";
    case FirewallLineStatus::kNotFirewall:
      return "not a firewall log line";
    case FirewallLineStatus::kBadTimestamp:
      return "firewall line without a known timestamp";
    case FirewallLineStatus::kBadField:
      return "firewall line with a missing or malformed field";
  }
  return "unknown";
}

std::optional<absl::Time> ParseRfc3164Time(absl::string_view text, const FirewallLineContext& ctx,
                                           absl::string_view* rest) {
  // "Mar  1 22:00:07 " or "Mar 01 22:00:07 " or "Mar 1 22:00:07 "
  if (text.size() < 15 || text[3] != ' ') return std::nullopt;
  const int month = MonthNumber(text.substr(0, 3));
  if (month == 0) return std::nullopt;
  size_t pos = 4;
  int day = 0;
  if (text[pos] == ' ') ++pos;
  if (pos + 1 < text.size() && IsDigit(text[pos]) && IsDigit(text[pos + 1])) {
    day = (text[pos] - '0') * 10 + (text[pos + 1] - '0');
    pos += 2;
  } else if (pos < text.size() && IsDigit(text[pos])) {
    day = text[pos] - '0';
    pos += 1;
  } else {
    return std::nullopt;
  }
  int hour = 0, minute = 0, second = 0;
  if (pos + 9 > text.size() || text[pos] != ' ' || !Digits(text, pos + 1, 2, &hour) ||
      text[pos + 3] != ':' || !Digits(text, pos + 4, 2, &minute) || text[pos + 6] != ':' ||
      !Digits(text, pos + 7, 2, &second)) {
    return std::nullopt;
  }
  pos += 9;
  if (day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  if (pos < text.size() && text[pos] != ' ') return std::nullopt;
  *rest = pos < text.size() ? text.substr(pos + 1) : absl::string_view();
  // The latest year that puts the line no further than kMaxFutureSkew
  // ahead of the reference (Feb 29 looks back up to 8 years).
  const int64_t ref_year = absl::ToCivilYear(ctx.reference, ctx.zone).year();
  if (ref_year < 1 || ref_year > 9998) return std::nullopt;
  const absl::Time latest = ctx.reference + kMaxFutureSkew;
  for (int64_t y = ref_year + 1; y >= ref_year - 8; --y) {
    std::optional<absl::Time> t =
        CivilInZone(static_cast<int>(y), month, day, hour, minute, second, ctx.zone);
    if (t && *t <= latest) return t;
  }
  return std::nullopt;
}

std::optional<absl::Time> ParseRfc3339Time(absl::string_view text, absl::string_view* rest) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!Digits(text, 0, 4, &year) || text.size() < 20 || text[4] != '-' ||
      !Digits(text, 5, 2, &month) || text[7] != '-' || !Digits(text, 8, 2, &day) ||
      text[10] != 'T' || !Digits(text, 11, 2, &hour) || text[13] != ':' ||
      !Digits(text, 14, 2, &minute) || text[16] != ':' || !Digits(text, 17, 2, &second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  size_t pos = 19;
  int64_t nanos = 0;
  if (text[pos] == '.') {
    ++pos;
    size_t digits = 0;
    while (pos < text.size() && IsDigit(text[pos])) {
      if (digits < 9) {
        nanos = nanos * 10 + (text[pos] - '0');
        ++digits;
      }
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (size_t i = digits; i < 9; ++i) nanos *= 10;
  }
  if (pos >= text.size()) return std::nullopt;
  int offset_minutes = 0;
  if (text[pos] == 'Z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    const int sign = text[pos] == '-' ? -1 : 1;
    int oh = 0, om = 0;
    if (!Digits(text, pos + 1, 2, &oh)) return std::nullopt;
    size_t mpos = pos + 3;
    if (mpos < text.size() && text[mpos] == ':') ++mpos;
    if (!Digits(text, mpos, 2, &om) || oh > 23 || om > 59) return std::nullopt;
    offset_minutes = sign * (oh * 60 + om);
    pos = mpos + 2;
  } else {
    return std::nullopt;
  }
  if (pos < text.size() && text[pos] != ' ') return std::nullopt;
  std::optional<absl::Time> t =
      CivilInZone(year, month, day, hour, minute, second, absl::UTCTimeZone());
  if (!t) return std::nullopt;
  *rest = pos < text.size() ? text.substr(pos + 1) : absl::string_view();
  return *t - absl::Minutes(offset_minutes) + absl::Nanoseconds(nanos);
}

FirewallLineStatus ParseFirewallLine(absl::string_view line, const FirewallLineContext& ctx,
                                     FirewallLine* out) {
  if (line.size() > kMaxFirewallLineBytes) return FirewallLineStatus::kTooLong;
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  // Most lines of a syslog are not firewall lines: find that out first.
  if (line.find("IN=") == absl::string_view::npos) return FirewallLineStatus::kNotFirewall;
  absl::string_view rest;
  std::optional<absl::Time> t;
  if (!line.empty() && IsDigit(line[0])) {
    t = ParseRfc3339Time(line, &rest);
  } else {
    t = ParseRfc3164Time(line, ctx, &rest);
  }
  // "HOST kernel: MESSAGE"
  const size_t host_end = rest.find(' ');
  const absl::string_view host = rest.substr(0, host_end);
  const absl::string_view after_host =
      host_end == absl::string_view::npos ? absl::string_view() : rest.substr(host_end + 1);
  const bool kernel = absl::string_view(after_host).substr(0, 8) == "kernel: ";
  if (!t) {
    // Firewall fields without a stamp known here are malformed; anything
    // else is text that happens to hold "IN=".
    FirewallLine ignored;
    return ParseMessage(line, &ignored) == FirewallLineStatus::kOk
               ? FirewallLineStatus::kBadTimestamp
               : FirewallLineStatus::kNotFirewall;
  }
  // Only the kernel writes LOG lines; a program's text mentioning them is not one.
  if (host.empty() || !kernel) return FirewallLineStatus::kNotFirewall;
  const FirewallLineStatus status = ParseMessage(after_host.substr(8), out);
  if (status != FirewallLineStatus::kOk) return status;
  out->time = *t;
  out->host = host;
  return FirewallLineStatus::kOk;
}

FirewallLineStatus ParseFirewallMessage(absl::string_view message, int64_t realtime_usec,
                                        FirewallLine* out) {
  if (message.size() > kMaxFirewallLineBytes) return FirewallLineStatus::kTooLong;
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) {
    message.remove_suffix(1);
  }
  const FirewallLineStatus status = ParseMessage(message, out);
  if (status != FirewallLineStatus::kOk) return status;
  out->time = absl::FromUnixMicros(realtime_usec);
  out->host = {};
  return FirewallLineStatus::kOk;
}

absl::StatusOr<absl::TimeZone> LoadTimeZoneFile(const std::string& path) {
  if (path.empty() || path[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("timezone_file '", path, "' is not an absolute path"));
  }
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(path, &zone)) {
    return absl::InvalidArgumentError(
        absl::StrCat("timezone_file '", path, "' is not a readable TZif time zone file"));
  }
  return zone;
}

}  // namespace goalkeeper
