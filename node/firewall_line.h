// Parsing of one kernel LOG-target line (iptables, ip6tables, nftables `log
// prefix`) as rsyslog writes it into /var/log/kern.log or /var/log/syslog,
// or as the journal holds it (message text plus a separate timestamp):
//
//   Mar 31 22:00:07 node-1 kernel: [81234.567890] IPTables-TFTP-Rejected: IN=eth0 OUT=
//       MAC=52:54:...:08:00 SRC=192.0.2.23 DST=198.51.100.1 LEN=45 ... PROTO=UDP SPT=40000 DPT=69
//
//   FirewallLineContext ctx{.zone = zone, .reference = now};
//   FirewallLine line;
//   if (ParseFirewallLine(text, ctx, &line) == FirewallLineStatus::kOk) {
//     aggregator.Add(HitFromLine(line));   // see node/hit_aggregator.h
//   }
//
// Timestamps: RFC 3164 "Mar  1 22:00:07" (space-padded or zero-padded day; no
// year and no zone: the zone is `ctx.zone`, the year the one that puts the
// line at most kMaxFutureSkew after `ctx.reference`, so a December line read
// in January belongs to the previous year), RFC 3339 "2026-03-31T22:00:07.123456+02:00"
// (fractions, "Z", "+hh:mm") and journalctl -o short-iso / short-iso-precise
// ("+hhmm"). The kernel uptime stamp "[ 81234.567890]" may be there or not;
// MAC= may be absent or empty; the prefix is the free text before "IN=" and
// may contain spaces or be empty. Fields are read up to the first "[" token
// (an ICMP error quotes the offending packet's header in brackets); of a key
// written twice (LEN=) the first counts.
//
// The parser never allocates: string fields are views into the input and
// are valid as long as it is. Lines longer than kMaxFirewallLineBytes are
// refused unread. Any bytes (NUL, invalid UTF-8) are safe.
//
// Thread-safety: pure functions; safe to call from any thread.
#ifndef GOALKEEPER_NODE_FIREWALL_LINE_H_
#define GOALKEEPER_NODE_FIREWALL_LINE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/ip_address.h"

namespace goalkeeper {

// Longer lines are refused (kTooLong) without being looked at.
inline constexpr size_t kMaxFirewallLineBytes = 64 << 10;
// How far after the reference time an RFC 3164 line may lie before it is
// taken to be from the previous year (clock skew between hosts, files read
// a little late).
inline constexpr absl::Duration kMaxFutureSkew = absl::Hours(24 * 31);

struct FirewallLine {
  absl::Time time;
  absl::string_view host;     // syslog host field; "" for journal messages
  absl::string_view prefix;   // text before "IN=", as logged ("IPTables-TFTP-Rejected: ")
  absl::string_view message;  // from the prefix to the end of the line (regex rules match this)
  absl::string_view in;       // "" when empty
  absl::string_view out;
  std::optional<absl::string_view> mac;  // nullopt when MAC= is absent, "" when empty
  IpAddress src;
  IpAddress dst;
  absl::string_view proto;  // as logged: "UDP", "TCP", "ICMP", "ICMPv6", "47"
  std::optional<uint16_t> spt;
  std::optional<uint16_t> dpt;
  std::optional<uint8_t> icmp_type;  // TYPE= (ICMP, ICMPv6)
  std::optional<uint8_t> icmp_code;
};

enum class FirewallLineStatus : uint8_t {
  kOk,
  kTooLong,       // longer than kMaxFirewallLineBytes
  kNotFirewall,   // no "IN= ... OUT=" LOG fields: an ordinary log line
  kBadTimestamp,  // firewall fields, but no timestamp form known here
  kBadField,      // firewall fields, but SRC/DST/PROTO missing or a value malformed
};

// "ok", "line longer than 65536 bytes", "not a firewall log line", ...
absl::string_view FirewallLineStatusText(FirewallLineStatus status);

struct FirewallLineContext {
  absl::TimeZone zone = absl::UTCTimeZone();  // for RFC 3164 stamps
  absl::Time reference = absl::UnixEpoch();   // "now", for the RFC 3164 year
};

// A syslog-file line (trailing '\r' and '\n' are ignored).
FirewallLineStatus ParseFirewallLine(absl::string_view line, const FirewallLineContext& ctx,
                                     FirewallLine* out);

// A journal entry's MESSAGE (kernel transport) with its __REALTIME_TIMESTAMP
// in microseconds since the epoch. host is left empty.
FirewallLineStatus ParseFirewallMessage(absl::string_view message, int64_t realtime_usec,
                                        FirewallLine* out);

// The timestamp parsers on their own (exposed for tests and the follower,
// which reads the time of a rotated file's first line). Return the rest of
// the text after the stamp and one space in *rest.
std::optional<absl::Time> ParseRfc3164Time(absl::string_view text, const FirewallLineContext& ctx,
                                           absl::string_view* rest);
std::optional<absl::Time> ParseRfc3339Time(absl::string_view text, absl::string_view* rest);

// Loads a time zone from a TZif file such as the host's /etc/localtime
// mounted into the pod (absl loads an absolute path verbatim). Errors are
// InvalidArgument naming the path: "timezone_file '/host/etc/localtime' is
// not a readable TZif time zone file". absl caches zones by name for the
// life of the process: a file changed later is not reloaded.
absl::StatusOr<absl::TimeZone> LoadTimeZoneFile(const std::string& path);

}  // namespace goalkeeper

#endif  // GOALKEEPER_NODE_FIREWALL_LINE_H_
