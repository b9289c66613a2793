// Port specifications: "22,80,8000-8100", plus named sets.
//
// Named sets: "databases" (3306, 5432, 6379, 27017, 9200, 11211, 1433, 1521,
// 5984, 9042, ...), "admin" (22, 23, 2375, 2376, 3389, 5900, 6443, 10250),
// "dangerous" (every TCP port in docs/service-catalogue: both sets above and
// the rest of the catalogue) and "all" (1-65535).
//
//   absl::StatusOr<PortSet> p = PortSet::Parse("databases,8080");
//   for (uint16_t port : p->ports()) ...
//
// Thread-safety: immutable after construction; safe to share.
#ifndef GOALKEEPER_COMMON_PORTS_H_
#define GOALKEEPER_COMMON_PORTS_H_

#include <cstdint>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"

namespace goalkeeper {

class PortSet {
 public:
  // Errors are InvalidArgument and quote the bad token:
  // "'70000' is not a port (1-65535), range or named set".
  static absl::StatusOr<PortSet> Parse(absl::string_view spec);

  // Sorted, unique, never empty after a successful Parse.
  const std::vector<uint16_t>& ports() const { return ports_; }
  size_t size() const { return ports_.size(); }

 private:
  std::vector<uint16_t> ports_;
};

// The ports of a named set, or an empty span if the name is unknown.
const std::vector<uint16_t>& NamedPortSet(absl::string_view name);

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_PORTS_H_
