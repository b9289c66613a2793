// The coordinator's operator-facing reads and its reports at scale, against
// a real SQLite file and a fake clock: ListScans pages and summaries,
// findings read a page at a time (keyset), reports of 200k exposures sent in
// bounded pages, adoption of an unmarked database of the previous version.
#include "coordinator/scan_store.h"

#include <unistd.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "coordinator/report_deliverer.h"
#include "coordinator/scan_manager.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/coordinator/confirmation_helper.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;
using ::testing::HasSubstr;

// Assembles what it is sent, counting pages.
class PagedSender : public ReportSender {
 public:
  absl::Status Send(const v1::ScanReport& header, const NextPage& next) override {
    v1::ScanReport whole = header;
    for (;;) {
      auto page = next();
      if (!page.ok()) return page.status();
      if (page->empty()) break;
      ++pages;
      largest_page = std::max(largest_page, page->size());
      v1::ExposureBatch batch;
      for (const v1::Exposure& e : *page) *batch.add_exposures() = e;
      largest_chunk_bytes = std::max(largest_chunk_bytes, batch.ByteSizeLong());
      for (v1::Exposure& e : *page) *whole.add_exposures() = std::move(e);
    }
    reports.push_back(std::move(whole));
    return absl::OkStatus();
  }
  int pages = 0;
  size_t largest_page = 0;
  size_t largest_chunk_bytes = 0;
  std::vector<v1::ScanReport> reports;
};

class ScanStoreTest : public ::testing::Test {
 protected:
  ScanStoreTest() : clock_(absl::FromUnixSeconds(1'800'000'000)) {
    db_ = ::testing::TempDir() + "/store-" + std::to_string(getpid()) + "-" +
          ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db";
    for (const char* suffix : {"", "-wal", "-shm"}) unlink((db_ + suffix).c_str());
    config_.allowed_ranges = {"127.80.0.0/16"};
    config_.inventories["lab"].targets = {"127.80.0.0/24"};
    config_.profiles["lab"] = ProfileConfig{"22,80", 300, 1, 0, "verify", {}};
    config_.lease = {10, 2, 5, 2};
    Open();
  }

  void Open() {
    manager_.reset();
    store_.reset();
    auto s = ScanStore::Open(db_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
    manager_ = std::make_unique<ScanManager>(config_, *store_, clock_);
    ASSERT_TRUE(manager_->Recover().ok());
  }

  v1::Scan Start(const std::vector<std::string>& targets, const std::string& ports) {
    v1::StartScanRequest req;
    for (const std::string& t : targets) req.mutable_targets()->add_include(t);
    req.mutable_ports()->set_spec(ports);
    req.set_profile("lab");
    auto scan = manager_->StartScan(req, "");
    EXPECT_TRUE(scan.ok()) << scan.status();
    return *scan;
  }

  // `n` open findings of the scan, written to the store directly: (i / 4)-th
  // address of 127.80.0.0/16, port 22, 80, 443 or 5432.
  void AddFindings(const std::string& scan_id, uint32_t n, uint32_t skip = 0) {
    static constexpr uint32_t kPorts[] = {22, 80, 443, 5432};
    std::vector<v1::ProbeResult> results;
    for (uint32_t i = skip; i < n; ++i) {
      v1::ProbeResult& r = results.emplace_back();
      r.set_ip(absl::StrCat("127.80.", (i / 4) / 256, ".", (i / 4) % 256));
      r.set_port(kPorts[i % 4]);
      r.set_state(v1::PROBE_STATE_OPEN);
    }
    ASSERT_TRUE(store_->InsertFindings(scan_id, results, absl::ToUnixMillis(clock_.Now())).ok());
    ASSERT_TRUE(store_->Commit().ok());
  }

  // Leases and completes every shard (no findings through the worker API).
  void RunToEnd() {
    const std::string worker = absl::StrCat("w", ++workers_);  // a new worker each time
    v1::RegisterWorkerRequest reg;
    reg.set_worker_id(worker);
    auto registered = manager_->RegisterWorker(reg);
    ASSERT_TRUE(registered.ok()) << registered.status();
    v1::LeaseShardRequest lease_req;
    lease_req.set_worker_id(worker);
    lease_req.set_worker_token(registered->worker_token());
    // Each scan's findings, read once: a report of 200k changes is confirmed
    // by hundreds of confirmation shards.
    std::map<std::string, std::set<std::pair<std::string, uint32_t>>> found;
    for (int i = 0; i < 10000; ++i) {
      auto lease = manager_->LeaseShard(lease_req);
      ASSERT_TRUE(lease.ok()) << lease.status();
      if (!lease->has_shard()) return;
      if (lease->shard().confirm_indices_size() > 0) {
        // Confirmation: the pairs are as the scan found them.
        const std::string& scan_id = lease->shard().scan_id();
        if (!found.contains(scan_id)) {
          std::set<std::pair<std::string, uint32_t>>& pairs = found[scan_id];
          ASSERT_TRUE(manager_
                          ->ForEachFinding(scan_id,
                                           [&](const v1::Finding& f) {
                                             pairs.insert({f.ip(), f.port()});
                                           })
                          .ok());
        }
        const std::set<std::pair<std::string, uint32_t>>& open = found[scan_id];
        v1::ReportFindingsRequest rf;
        rf.set_worker_id(worker);
        rf.set_worker_token(registered->worker_token());
        rf.set_lease_id(lease->shard().lease_id());
        for (const v1::ProbeResult& r : StableConfirmation(lease->shard(), open)) {
          *rf.add_results() = r;
        }
        ASSERT_TRUE(manager_->ReportFindings(rf).ok());
      }
      v1::CompleteShardRequest req;
      req.set_worker_id(worker);
      req.set_worker_token(registered->worker_token());
      req.set_lease_id(lease->shard().lease_id());
      ASSERT_TRUE(manager_->CompleteShard(req).ok());
    }
    FAIL() << "the scan did not end";
  }

  int workers_ = 0;
  FakeClock clock_;
  CoordinatorConfig config_;
  std::string db_;
  std::unique_ptr<ScanStore> store_;
  std::unique_ptr<ScanManager> manager_;
};

std::vector<std::string> Addresses(uint32_t n) {
  std::vector<std::string> out;
  for (uint32_t i = 0; i < n; ++i) out.push_back(absl::StrCat("127.80.", i / 256, ".", i % 256));
  return out;
}

TEST_F(ScanStoreTest, ListScansPagesSummariesOfScansWith60kTargets) {
  const std::vector<std::string> targets = Addresses(60000);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(Start(targets, "22").id());
    clock_.Advance(absl::Seconds(1));
  }
  v1::ListScansRequest req;
  req.set_page_size(2);
  std::vector<std::string> seen;
  for (int page = 0; page < 10; ++page) {
    auto resp = manager_->ListScans(req);
    ASSERT_TRUE(resp.ok()) << resp.status();
    EXPECT_LE(resp->scans_size(), 2);
    EXPECT_LT(resp->ByteSizeLong(), 64u * 1024) << "a page is summaries, not target lists";
    for (const v1::Scan& s : resp->scans()) {
      seen.push_back(s.id());
      EXPECT_EQ(s.target_include_count(), 60000u);
      EXPECT_EQ(s.targets().include_size(), 3);
      EXPECT_EQ(s.targets().include(0), "127.80.0.0");
      EXPECT_EQ(s.probes_total(), 60000u);
    }
    if (resp->next_page_token().empty()) break;
    req.set_page_token(resp->next_page_token());
  }
  EXPECT_EQ(seen, std::vector<std::string>(ids.rbegin(), ids.rend())) << "newest first, once each";
  // GetScan still has every target.
  auto full = manager_->GetScan(ids[0]);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->targets().include_size(), 60000);
  // The old `limit` is the page size when page_size is not given.
  v1::ListScansRequest legacy;
  legacy.set_limit(3);
  auto three = manager_->ListScans(legacy);
  ASSERT_TRUE(three.ok());
  EXPECT_EQ(three->scans_size(), 3);
  EXPECT_FALSE(three->next_page_token().empty());
  // Page size is bounded.
  v1::ListScansRequest huge;
  huge.set_page_size(1'000'000);
  auto all = manager_->ListScans(huge);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->scans_size(), 5);
  EXPECT_TRUE(all->next_page_token().empty());
}

TEST_F(ScanStoreTest, ABadOrForeignPageTokenIsInvalidArgument) {
  Start({"127.80.0.1"}, "22");
  Start({"127.80.0.2"}, "22");
  v1::ListScansRequest req;
  req.set_page_size(1);
  auto first = manager_->ListScans(req);
  ASSERT_TRUE(first.ok());
  ASSERT_FALSE(first->next_page_token().empty());
  for (const std::string& token :
       {std::string("garbage!"), absl::WebSafeBase64Escape("v1|abc|"),
        absl::WebSafeBase64Escape("v1|1|other"), absl::WebSafeBase64Escape("v2|1|")}) {
    req.set_page_token(token);
    auto r = manager_->ListScans(req);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << token;
    EXPECT_THAT(r.status().message(), HasSubstr("page_token"));
  }
  // A token is bound to the inventory filter it was issued with.
  req.set_page_token(first->next_page_token());
  req.set_inventory("lab");
  EXPECT_EQ(manager_->ListScans(req).status().code(), absl::StatusCode::kInvalidArgument);
  req.set_inventory("");
  auto second = manager_->ListScans(req);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(second->scans_size(), 1);
  EXPECT_NE(second->scans(0).id(), first->scans(0).id());
}

TEST_F(ScanStoreTest, FindingsAreReadInKeysetPagesCoveringEachOnce) {
  v1::Scan scan = Start({"127.80.0.0/16"}, "22,80,443,5432");
  AddFindings(scan.id(), 100000);
  std::set<std::pair<std::string, uint32_t>> seen;
  std::optional<ExposureKey> after;
  int pages = 0;
  for (;;) {
    auto page = manager_->FindingsPage(scan.id(), after ? &*after : nullptr, 1000);
    ASSERT_TRUE(page.ok()) << page.status();
    if (page->empty()) break;
    ++pages;
    EXPECT_LE(page->size(), 1000u);
    for (const v1::Finding& f : *page) {
      EXPECT_TRUE(seen.insert({f.ip(), f.port()}).second) << f.ip() << ":" << f.port();
    }
    after = ExposureKey(page->back().ip(), page->back().port(), page->back().transport());
  }
  EXPECT_EQ(seen.size(), 100000u);
  EXPECT_EQ(pages, 100);
  EXPECT_EQ(manager_->FindingsPage("nope", nullptr, 10).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ScanStoreTest, AReportOf200kExposuresIsSentInBoundedPages) {
  v1::Scan first = Start({"127.80.0.0/16"}, "22,80,443,5432");
  AddFindings(first.id(), 1000);  // base: 1,000 exposures, 10 of them close later
  RunToEnd();
  clock_.Advance(absl::Hours(1));
  v1::Scan second = Start({"127.80.0.0/16"}, "22,80,443,5432");
  AddFindings(second.id(), 200000, 10);
  RunToEnd();
  auto done = manager_->GetScan(second.id());
  ASSERT_EQ(done->state(), v1::SUCCEEDED);

  PagedSender sender;
  ReportDeliverer deliverer(*manager_, &sender, clock_);
  EXPECT_EQ(deliverer.Tick(), 2);
  ASSERT_EQ(sender.reports.size(), 2u);
  const v1::ScanReport& report =
      sender.reports[0].scan_id() == second.id() ? sender.reports[0] : sender.reports[1];
  EXPECT_EQ(report.exposure_count(), 200000u);
  ASSERT_EQ(report.exposures_size(), 200000);
  std::map<v1::ExposureStatus, int> by_status;
  for (const v1::Exposure& e : report.exposures()) ++by_status[e.status()];
  EXPECT_EQ(by_status[v1::NEW], 199000);
  EXPECT_EQ(by_status[v1::STILL_OPEN], 990);
  EXPECT_EQ(by_status[v1::CLOSED], 10);
  EXPECT_EQ(report.exposures(199999).status(), v1::CLOSED) << "closed ones last";
  EXPECT_LE(sender.largest_page, ReportDeliverer::kPage);
  EXPECT_LT(sender.largest_chunk_bytes, 1u << 20) << "each chunk far under gRPC's 4 MiB";
  EXPECT_GE(sender.pages, 49);
  // The same diff serves DiffScan.
  auto diff = manager_->DiffScan(second.id(), "");
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ(diff->base_scan_id(), first.id());
  EXPECT_EQ(diff->new_open_size(), 200000 - 1000);
  EXPECT_EQ(diff->still_open_size(), 990);
  EXPECT_EQ(diff->closed_size(), 10);
}

TEST_F(ScanStoreTest, UnmarkedDatabaseOfThePreviousVersionIsAdoptedAndItsReportDelivered) {
  v1::Scan scan = Start({"127.80.0.1"}, "22");
  // Make the file look like the previous version's: unmarked, without the
  // version-2, -3 and -4 tables, and a pending report carrying its exposures inline.
  v1::ScanReport old;
  old.set_scan_id("legacy-scan");
  for (int i = 0; i < 5000; ++i) {
    v1::Exposure* e = old.add_exposures();
    e->set_ip(absl::StrCat("127.80.", i / 256, ".", i % 256));
    e->set_port(22);
    e->set_status(v1::NEW);
  }
  store_.reset();
  manager_.reset();
  {
    auto raw = SqliteDb::Open(db_);
    ASSERT_TRUE(raw.ok());
    ASSERT_TRUE((*raw)
                    ->Exec("DROP TABLE report_exposures; DROP TABLE meta; DROP TABLE workers; "
                           "DROP TABLE node_findings; DROP TABLE nodes; DROP TABLE confirmations; "
                           // The version-1 findings and exposures (no transport, no evidence):
                           // empty here, recreated by the version-1 script.
                           "DROP TABLE findings; DROP TABLE exposures; "
                           "PRAGMA application_id = 0; PRAGMA user_version = 0")
                    .ok());
    auto ins = (*raw)->Prepare("INSERT INTO reports (scan_id, payload) VALUES (?, ?)");
    ASSERT_TRUE(ins.ok());
    ins->Bind(1, "legacy-scan").BindBlob(2, old.SerializeAsString());
    ASSERT_TRUE(ins->Run().ok());
  }
  Open();
  auto kept = manager_->GetScan(scan.id());
  ASSERT_TRUE(kept.ok()) << "adopted, not refused or emptied: " << kept.status();
  PagedSender sender;
  ReportDeliverer deliverer(*manager_, &sender, clock_);
  EXPECT_EQ(deliverer.Tick(), 1);
  ASSERT_EQ(sender.reports.size(), 1u);
  EXPECT_EQ(sender.reports[0].exposures_size(), 5000);
  EXPECT_EQ(sender.reports[0].exposure_count(), 5000u);
  EXPECT_EQ(sender.pages, 2);
}

// Schema 8 (issue 12): a version-7 file's findings and exposures are kept,
// as TCP pairs without a probe, and the next scan's diff and report use them.
TEST_F(ScanStoreTest, AVersion7DatabaseKeepsItsFindingsAndExposuresAsTcp) {
  v1::Scan first = Start({"127.80.0.0/24"}, "22,80");
  RunToEnd();
  store_.reset();
  manager_.reset();
  {
    auto raw = SqliteDb::Open(db_);
    ASSERT_TRUE(raw.ok());
    ASSERT_TRUE((*raw)
                    ->Exec("DROP TABLE findings; DROP TABLE exposures; "
                           "CREATE TABLE findings (scan_id TEXT NOT NULL, ip TEXT NOT NULL, "
                           "port INTEGER NOT NULL, state INTEGER NOT NULL, rtt_us INTEGER NOT NULL, "
                           "found_ms INTEGER NOT NULL, PRIMARY KEY (scan_id, ip, port)); "
                           "CREATE TABLE exposures (scope TEXT NOT NULL, ip TEXT NOT NULL, "
                           "port INTEGER NOT NULL, first_seen_ms INTEGER NOT NULL, "
                           "PRIMARY KEY (scope, ip, port)); "
                           "ALTER TABLE report_exposures DROP COLUMN transport; "
                           "ALTER TABLE report_exposures DROP COLUMN service; "
                           "ALTER TABLE report_exposures DROP COLUMN verified; "
                           "ALTER TABLE report_exposures DROP COLUMN evidence; "
                           "ALTER TABLE confirmations DROP COLUMN transport; "
                           "PRAGMA user_version = 7")
                    .ok());
    auto ins = (*raw)->Prepare(
        "INSERT INTO findings VALUES ('" + first.id() + "', '127.80.0.7', 22, 1, 5, 1000)");
    ASSERT_TRUE(ins.ok());
    ASSERT_TRUE(ins->Run().ok());
    auto exp = (*raw)->Prepare(
        "INSERT INTO exposures SELECT scope, '127.80.0.7', 22, 1000 FROM scans WHERE id = '" +
        first.id() + "'");
    ASSERT_TRUE(exp.ok());
    ASSERT_TRUE(exp->Run().ok());
  }
  Open();
  ASSERT_NE(manager_, nullptr);
  auto page = manager_->FindingsPage(first.id(), nullptr, 10);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].ip(), "127.80.0.7");
  EXPECT_EQ((*page)[0].transport(), v1::TRANSPORT_TCP);
  EXPECT_EQ((*page)[0].service(), "SSH");
  EXPECT_FALSE((*page)[0].verified());
  EXPECT_FALSE((*page)[0].has_evidence());
  // The next scan finds it again over TCP: still open since the first.
  clock_.Advance(absl::Hours(1));
  v1::Scan second = Start({"127.80.0.0/24"}, "22,80");
  std::vector<v1::ProbeResult> again(1);
  again[0].set_ip("127.80.0.7");
  again[0].set_port(22);
  again[0].set_state(v1::PROBE_STATE_OPEN);
  ASSERT_TRUE(store_->InsertFindings(second.id(), again, 2000).ok());
  ASSERT_TRUE(store_->Commit().ok());
  RunToEnd();
  auto diff = manager_->DiffScan(second.id(), "");
  ASSERT_TRUE(diff.ok()) << diff.status();
  ASSERT_EQ(diff->still_open_size(), 1);
  EXPECT_EQ(diff->still_open(0).ip(), "127.80.0.7");
  EXPECT_EQ(diff->new_open_size(), 0);
}

// Findings keep what their probes saw, keyed by transport: a TCP and a UDP
// finding of the same address and port are two; service, verified and
// evidence come back in findings, the diff and the report.
TEST_F(ScanStoreTest, ProbedFindingsKeepTransportServiceAndEvidenceIntoTheReport) {
  v1::Scan scan = Start({"127.80.0.0/24"}, "53,6379");
  std::vector<v1::ProbeResult> results(3);
  results[0].set_ip("127.80.0.5");
  results[0].set_port(6379);
  results[0].set_state(v1::PROBE_STATE_OPEN);
  results[0].set_service("Redis");
  results[0].set_verified(true);
  results[0].mutable_evidence()->set_version("7.0.15");
  results[0].mutable_evidence()->set_auth(v1::AUTH_STATE_NOT_REQUIRED);
  results[1].set_ip("127.80.0.5");
  results[1].set_port(53);
  results[1].set_state(v1::PROBE_STATE_OPEN);  // TCP 53, no probe
  results[2] = results[1];
  results[2].set_transport(v1::TRANSPORT_UDP);
  results[2].set_service("DNS");
  results[2].set_verified(true);
  results[2].mutable_evidence()->set_amplification(31.5);
  results[2].mutable_evidence()->add_facts("recursion=available");
  auto inserted = store_->InsertFindings(scan.id(), results, 1000);
  ASSERT_TRUE(inserted.ok()) << inserted.status();
  EXPECT_EQ(*inserted, 3u);
  ASSERT_TRUE(store_->Commit().ok());
  auto page = manager_->FindingsPage(scan.id(), nullptr, 10);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->size(), 3u);  // (ip, port, transport) order
  EXPECT_EQ((*page)[0].port(), 53u);
  EXPECT_EQ((*page)[0].transport(), v1::TRANSPORT_TCP);
  EXPECT_EQ((*page)[0].service(), "tcp/53");  // no TCP entry in the catalogue, unverified
  EXPECT_FALSE((*page)[0].verified());
  EXPECT_EQ((*page)[1].transport(), v1::TRANSPORT_UDP);
  EXPECT_TRUE((*page)[1].verified());
  EXPECT_EQ((*page)[1].evidence().amplification(), 31.5);
  EXPECT_EQ((*page)[2].service(), "Redis");
  EXPECT_EQ((*page)[2].evidence().version(), "7.0.15");
  // Keyset pages step over the transport too.
  ExposureKey after((*page)[0].ip(), (*page)[0].port(), (*page)[0].transport());
  auto next = manager_->FindingsPage(scan.id(), &after, 10);
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->size(), 2u);
  EXPECT_EQ((*next)[0].transport(), v1::TRANSPORT_UDP);
  RunToEnd();
  PagedSender sender;
  ReportDeliverer deliverer(*manager_, &sender, clock_);
  EXPECT_EQ(deliverer.Tick(), 1);
  ASSERT_EQ(sender.reports.size(), 1u);
  const v1::ScanReport& report = sender.reports[0];
  ASSERT_EQ(report.exposures_size(), 3);
  std::map<std::string, v1::Exposure> by;
  for (const v1::Exposure& e : report.exposures()) {
    by[absl::StrCat(e.port(), e.transport() == v1::TRANSPORT_UDP ? "/udp" : "/tcp")] = e;
  }
  EXPECT_EQ(by["6379/tcp"].service(), "Redis");
  EXPECT_TRUE(by["6379/tcp"].verified());
  EXPECT_EQ(by["6379/tcp"].evidence().auth(), v1::AUTH_STATE_NOT_REQUIRED);
  EXPECT_EQ(by["53/udp"].service(), "DNS");
  EXPECT_EQ(by["53/udp"].evidence().facts(0), "recursion=available");
  EXPECT_FALSE(by["53/tcp"].verified());
  EXPECT_FALSE(by["53/tcp"].has_evidence());
}

TEST_F(ScanStoreTest, ForeignDatabaseIsRefusedNamingTheFile) {
  store_.reset();
  manager_.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) unlink((db_ + suffix).c_str());
  {
    auto raw = SqliteDb::Open(db_);
    ASSERT_TRUE(raw.ok());
    ASSERT_TRUE((*raw)->Exec("CREATE TABLE customers (id INTEGER PRIMARY KEY)").ok());
  }
  auto s = ScanStore::Open(db_);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr(db_));
  EXPECT_THAT(s.status().message(), HasSubstr("'customers'"));
  // A notifier's database is not a coordinator's either.
  for (const char* suffix : {"", "-wal", "-shm"}) unlink((db_ + suffix).c_str());
  {
    auto raw = SqliteDb::Open(db_);
    ASSERT_TRUE(raw.ok());
    ASSERT_TRUE((*raw)->Exec("PRAGMA application_id = 1196117553").ok());  // "GKN1"
  }
  s = ScanStore::Open(db_);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("another application"));
}

}  // namespace
}  // namespace goalkeeper

namespace goalkeeper {
namespace {

TEST(ScanStoreWritesTest, AFailedWriteRollsBackTheGroupAndRefusesWritesUntilResumed) {
  const std::string db = ::testing::TempDir() + "/store-refuse-" + std::to_string(getpid()) + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) unlink((db + suffix).c_str());
  auto store = ScanStore::Open(db);
  ASSERT_TRUE(store.ok()) << store.status();
  auto scan = [](const std::string& id) {
    v1::Scan s;
    s.set_id(id);
    s.set_state(v1::PENDING);
    return s;
  };
  ASSERT_TRUE((*store)->InsertScan(scan("a"), "x", 1).ok());
  ASSERT_TRUE((*store)->Commit().ok());
  ASSERT_TRUE((*store)->InsertScan(scan("b"), "x", 2).ok());   // in the open group
  absl::Status dup = (*store)->InsertScan(scan("a"), "x", 3);  // fails inside it
  EXPECT_FALSE(dup.ok());
  EXPECT_EQ(dup.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(dup.message(), HasSubstr(db));
  EXPECT_FALSE((*store)->refusal().ok());
  auto b = (*store)->LoadScan("b");
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->has_value()) << "the whole group was rolled back, not committed half done";
  EXPECT_EQ((*store)->InsertScan(scan("c"), "x", 4).code(), absl::StatusCode::kUnavailable)
      << "writes are refused";
  auto a = (*store)->LoadScan("a");
  ASSERT_TRUE(a.ok() && a->has_value()) << "reads go on";
  ASSERT_TRUE((*store)->TryResume().ok());
  EXPECT_TRUE((*store)->refusal().ok());
  ASSERT_TRUE((*store)->InsertScan(scan("c"), "x", 4).ok());
  ASSERT_TRUE((*store)->Commit().ok());
}

}  // namespace
}  // namespace goalkeeper
