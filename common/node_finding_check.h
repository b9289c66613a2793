// Checks of the contents of goalkeeper.v1.NodeFinding against node.proto's
// bounds, shared by the two places that accept node findings from another
// process: the coordinator (reports from node agents) and the notifier
// (deliveries from the coordinator). Errors are INVALID_ARGUMENT naming the
// field and quoting the value:
//
//   RETURN_IF_ERROR(CheckBruteForceSource("findings[0].brute_force", f.brute_force(), {}));
//   // "findings[0].brute_force.source: 'a b' (3 bytes) must be 1-64 bytes of
//   //  letters, digits and '.:/'"
//
// Thread-safety: stateless functions.
#ifndef GOALKEEPER_COMMON_NODE_FINDING_CHECK_H_
#define GOALKEEPER_COMMON_NODE_FINDING_CHECK_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "goalkeeper/v1/node.pb.h"

namespace goalkeeper {

struct NodeFindingLimits {
  size_t max_rule = 64;
  size_t max_address = 64;  // sources and listener addresses
  size_t max_protocol = 16;
  size_t max_ports = 64;  // per brute-force source
};

// "'x y'": bytes outside printable ASCII escaped as \xNN, cut to 80 bytes, so
// that a bad value is named without echoing a megabyte or control bytes.
std::string QuoteFieldValue(absl::string_view v);

// `field: message` as INVALID_ARGUMENT.
absl::Status FieldError(absl::string_view field, absl::string_view message);

// A non-empty value of at most `max` bytes of ASCII letters, digits and the
// characters of `extra`.
absl::Status CheckFieldToken(absl::string_view field, absl::string_view value, size_t max,
                             absl::string_view extra);

// rule, source, hits_in_window >= 1, first_seen <= last_seen, ports.
absl::Status CheckBruteForceSource(absl::string_view field,
                                   const goalkeeper::v1::BruteForceSource& b,
                                   const NodeFindingLimits& limits);

// protocol tcp or udp, address, port 1-65535.
absl::Status CheckListener(absl::string_view field, const goalkeeper::v1::Listener& l,
                           const NodeFindingLimits& limits);

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_NODE_FINDING_CHECK_H_
