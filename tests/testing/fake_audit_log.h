// An in-memory AuditLog for tests: the same filters, bounds and page tokens
// as SqliteAuditLog (common/audit_log.h), and a switch that makes Append
// fail (a full disk) so that callers' handling of it can be tested.
//
//   FakeAuditLog log;
//   Auditor audit(log, clock, "test");
//   ...
//   EXPECT_EQ(log.entries().size(), 1u);
//
// Thread-safety: thread-safe (one mutex).
#ifndef GOALKEEPER_TESTS_TESTING_FAKE_AUDIT_LOG_H_
#define GOALKEEPER_TESTS_TESTING_FAKE_AUDIT_LOG_H_

#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/audit_log.h"

namespace goalkeeper::testing {

class FakeAuditLog final : public AuditLog {
 public:
  absl::StatusOr<int64_t> Append(const AuditEntry& entry) override {
    absl::MutexLock lock(&mu_);
    if (fail_) return absl::UnavailableError("fake audit log: disk full");
    AuditEntry& e = entries_.emplace_back(entry);
    e.id = static_cast<int64_t>(entries_.size());
    return e.id;
  }

  absl::StatusOr<AuditPage> List(const AuditFilter& filter) override {
    absl::StatusOr<int64_t> before = CheckAuditFilter(filter);
    if (!before.ok()) return before.status();
    const uint32_t limit = filter.limit == 0 ? kAuditDefaultLimit : filter.limit;
    absl::MutexLock lock(&mu_);
    AuditPage page;
    for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
      if (it->id >= *before || it->at_unix_ms < filter.since_unix_ms) continue;
      if (!filter.identity.empty() && it->identity != filter.identity) continue;
      if (!AuditMethodMatches(it->method, filter.method)) continue;
      if (page.entries.size() == limit) {
        page.next_page_token = AuditPageToken(filter, page.entries.back().id);
        break;
      }
      page.entries.push_back(*it);
    }
    return page;
  }

  std::vector<AuditEntry> entries() {
    absl::MutexLock lock(&mu_);
    return entries_;
  }
  void set_fail(bool fail) {
    absl::MutexLock lock(&mu_);
    fail_ = fail;
  }

 private:
  absl::Mutex mu_;
  std::vector<AuditEntry> entries_ ABSL_GUARDED_BY(mu_);
  bool fail_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace goalkeeper::testing

#endif  // GOALKEEPER_TESTS_TESTING_FAKE_AUDIT_LOG_H_
