#include "coordinator/scan_manager.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>

#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/evidence_check.h"
#include "common/ip_address.h"
#include "common/logging.h"
#include "common/node_finding_check.h"  // FieldError
#include "common/probe_space.h"
#include "common/scan_space.h"
#include "common/services.h"
#include "common/status_macros.h"
#include "coordinator/worker_token.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;

// A profile's `probes:` (config, validated there) as the proto's mode.
v1::ProbeMode ProbeModeOf(const std::string& name) {
  if (name == "none") return v1::PROBE_MODE_NONE;
  if (name == "all") return v1::PROBE_MODE_ALL;
  return v1::PROBE_MODE_VERIFY;
}

const char* ProbeModeName(v1::ProbeMode m) {
  switch (m) {
    case v1::PROBE_MODE_NONE:
      return "none";
    case v1::PROBE_MODE_ALL:
      return "all";
    default:
      return "verify";
  }
}

// From the scan's first lease to now (zero when it never started).
absl::Duration RanFor(const v1::Scan& scan, absl::Time now) {
  if (scan.started_unix_ms() <= 0) return absl::ZeroDuration();
  return std::max(absl::ZeroDuration(), now - absl::FromUnixMillis(scan.started_unix_ms()));
}

constexpr uint64_t kInitialShard = 8192;
constexpr uint64_t kMinShard = 256;
constexpr uint64_t kMaxShard = uint64_t{1} << 22;
constexpr uint32_t kMaxShardAttempts = 10;
// Confirmation shards: at most this many indices (a shard that avoids a
// worker is given to it anyway after lease.confirm_wait_seconds).
constexpr size_t kMaxConfirmShard = 256;
constexpr int kMaxReportFlaps = 1000;
// Worker-driven writes are committed in groups at most this old.
constexpr absl::Duration kGroupCommit = absl::Milliseconds(5);

std::string RandomHex(int bytes) {
  static absl::Mutex mu(absl::kConstInit);
  static absl::BitGen* gen = new absl::BitGen();
  absl::MutexLock lock(&mu);
  std::string out;
  for (int i = 0; i < bytes; ++i) {
    absl::StrAppendFormat(&out, "%02x", absl::Uniform<unsigned>(*gen, 0u, 256u));
  }
  return out;
}

// ListScans pages: AIP-158 sizes, and how many target specs a summary keeps.
constexpr uint32_t kDefaultPageSize = 50;
constexpr uint32_t kMaxPageSize = 1000;
constexpr uint32_t kSummarySpecs = 3;
// While writes are refused, how often a write is tried again.
constexpr absl::Duration kResumeProbe = absl::Seconds(1);

// A ListScans page token: opaque to clients; binds the position (the seq of
// the last scan returned) to the inventory filter it was issued for.
std::string EncodePageToken(int64_t seq, const std::string& inventory) {
  return absl::WebSafeBase64Escape(absl::StrCat("v1|", seq, "|", inventory));
}

absl::StatusOr<int64_t> DecodePageToken(const std::string& token, const std::string& inventory) {
  std::string raw;
  const absl::Status bad = absl::InvalidArgumentError(
      absl::StrCat("page_token '", absl::CHexEscape(token.substr(0, 64)),
                   "' is not a token this coordinator issued for inventory '", inventory, "'"));
  if (!absl::WebSafeBase64Unescape(token, &raw)) return bad;
  std::vector<std::string> parts = absl::StrSplit(raw, absl::MaxSplits('|', 2));
  int64_t seq = 0;
  if (parts.size() != 3 || parts[0] != "v1" || !absl::SimpleAtoi(parts[1], &seq) || seq <= 0 ||
      parts[2] != inventory) {
    return bad;
  }
  return seq;
}

}  // namespace

ScanManager::ScanManager(const CoordinatorConfig& config, ScanStore& store, const Clock& clock,
                         InventorySource* inventories)
    : config_(config), clock_(clock), inventories_(inventories), store_(store) {
  auto allowed = ParseTargetSpecs(config.allowed_ranges);
  if (allowed.ok()) allowed_ = TargetSet::FromRanges(*allowed, {});
  for (const auto& [role, scope] : config.auth.roles) {
    if (scope.allowed_ranges.empty()) continue;
    auto ranges = ParseTargetSpecs(scope.allowed_ranges);  // the config checked them
    if (ranges.ok()) role_allowed_[role] = TargetSet::FromRanges(*ranges, {});
  }
}

int64_t ScanManager::NowMs() const { return absl::ToUnixMillis(clock_.Now()); }

// A failed commit (a full disk) rolled back: memory may be ahead of the
// database. Writes are refused from now on (the store answers UNAVAILABLE
// naming the file) while reads and health go on; once a write succeeds
// again, Flush reloads the state from the database, as a restart would.
void ScanManager::Durable(absl::Status s) {
  if (s.ok()) return;
  if (!writes_refused_) {
    MakeLogger("coordinator")
        ->critical(
            "cannot commit to the database: {}; refusing writes, serving reads, retrying "
            "every {}",
            s.message(), absl::FormatDuration(kResumeProbe));
    last_resume_try_ = clock_.Now();
  }
  writes_refused_ = true;
}

absl::Status ScanManager::CommitNow() {
  absl::Status s = store_.Commit();
  Durable(s);
  return s;
}

void ScanManager::Flush() {
  absl::MutexLock lock(&mu_);
  Durable(store_.Commit());
  Durable(store_.refusal());  // a write that failed inside a group refused writes too
  if (!writes_refused_ || clock_.Now() - last_resume_try_ < kResumeProbe) return;
  last_resume_try_ = clock_.Now();
  if (!store_.TryResume().ok()) return;
  auto log = MakeLogger("coordinator");
  if (absl::Status s = RecoverLocked(); !s.ok()) {
    log->error("database writable again but reloading failed: {}; retrying", s.message());
    return;
  }
  writes_refused_ = false;
  log->warn("database writes resumed db={}; state reloaded from it", store_.path());
}

bool ScanManager::WritesRefused() {
  absl::MutexLock lock(&mu_);
  return writes_refused_;
}

void ScanManager::Changed() {
  ++version_;
  changed_.SignalAll();
}

absl::Status ScanManager::Recover() {
  absl::MutexLock lock(&mu_);
  return RecoverLocked();
}

absl::Status ScanManager::RecoverLocked() {
  live_.clear();
  lease_scan_.clear();
  ASSIGN_OR_RETURN(seq_, store_.MaxSeq());
  const absl::Time deadline = clock_.Now() + absl::Seconds(config_.lease.ttl_seconds);
  // Registered workers keep their names and tokens; each has the silence
  // timeout from now to come back.
  ASSIGN_OR_RETURN(std::vector<WorkerRow> workers, store_.LoadWorkers());
  for (const WorkerRow& row : workers) {
    Worker& w = workers_[row.id];
    w.name = row.name;
    w.token_hash = row.token_hash;
    w.connected = absl::FromUnixMillis(row.registered_ms);
    w.last_seen = clock_.Now();
    w.identity = row.identity;
  }
  for (v1::ScanState state : {v1::PENDING, v1::RUNNING}) {
    ASSIGN_OR_RETURN(std::vector<ScanRow> rows, store_.LoadScansInState(state));
    for (ScanRow& row : rows) {
      LiveScan live;
      auto targets = TargetSet::Parse(
          {row.scan.targets().include().begin(), row.scan.targets().include().end()},
          {row.scan.targets().exclude().begin(), row.scan.targets().exclude().end()});
      auto ports = PortSet::Parse(row.scan.profile().ports().spec());
      auto udp_ports = UdpPortsOfProfile(row.scan.profile());
      if (!targets.ok() || !ports.ok() || !udp_ports.ok()) {
        RETURN_IF_ERROR(store_.SetScanState(row.scan.id(), v1::FAILED, NowMs(),
                                            "stored targets, ports or UDP services no longer parse"));
        continue;
      }
      live.udp_ports = *std::move(udp_ports);
      live.targets = *std::move(targets);
      live.ports = *std::move(ports);
      live.scope = row.scope;
      live.seq = row.seq;
      live.next_index = row.next_index;
      ASSIGN_OR_RETURN(uint64_t findings, store_.CountFindings(row.scan.id()));
      row.scan.set_findings(findings);
      live.scan = row.scan;
      ASSIGN_OR_RETURN(std::vector<ShardRow> shards, store_.LoadOpenShards(row.scan.id()));
      for (const ShardRow& s : shards) {
        if (s.state == ShardState::kLeased && !s.lease_id.empty()) {
          Lease& lease = live.leases[s.lease_id];
          lease.scan_id = s.scan_id;
          lease.begin = s.begin;
          lease.end = s.end;
          lease.attempts = s.attempts;
          lease.worker_id = s.worker_id;
          lease.deadline = deadline;
          lease.leased_at = clock_.Now();
          lease_scan_[s.lease_id] = s.scan_id;
        } else {
          live.pending.push_back({s.begin, s.end, s.attempts});
        }
      }
      // A confirmation under way resumes: its changes not probed yet are
      // queued again (confirmation leases are not kept across a restart).
      ASSIGN_OR_RETURN(std::vector<ConfirmationRow> confirmations,
                       store_.LoadConfirmations(row.scan.id()));
      if (!confirmations.empty()) {
        live.confirming = true;
        QueueConfirmations(live, confirmations);
      }
      // The holders of a capped scan's recovered leases share its rate.
      if (const double cap = row.scan.profile().rate(); cap > 0) {
        for (const auto& [lease_id, lease] : live.leases) live.shares[lease.worker_id] = {};
        for (auto& [worker_id, share] : live.shares) {
          share.target = cap / static_cast<double>(live.shares.size());
        }
        for (auto& [lease_id, lease] : live.leases) {
          lease.rate = live.shares[lease.worker_id].target;
        }
      }
      MakeLogger("coordinator")
          ->info("recovered scan={} state={} probes_done={}/{} leases={} pending_shards={}",
                 row.scan.id(), v1::ScanState_Name(row.scan.state()), row.scan.probes_done(),
                 row.scan.probes_total(), live.leases.size(), live.pending.size());
      std::string id = row.scan.id();
      live_.emplace(id, std::move(live));
      auto it = live_.find(id);
      RETURN_IF_ERROR(MaybeFinish(it->second));
    }
  }
  Durable(store_.Commit());
  Changed();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ScanManager::FetchInventory(
    const std::string& name, const InventoryConfig& inventory) {
  if (inventories_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("inventory '", name, "' has an openstack block but no source is configured"));
  }
  // The network call: never under mu_.
  absl::StatusOr<std::vector<std::string>> fetched = inventories_->Fetch(name);
  if (!fetched.ok()) {
    return absl::UnavailableError(
        absl::StrCat("inventory '", name, "': openstack: ", fetched.status().message()));
  }
  absl::StatusOr<std::vector<AddressRange>> excluded = ParseTargetSpecs(inventory.exclude);
  if (!excluded.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("inventories.", name, ".exclude: ", excluded.status().message()));
  }
  const TargetSet exclude = TargetSet::FromRanges(*std::move(excluded), {});
  std::vector<std::string> out;
  out.reserve(fetched->size());
  for (const std::string& text : *fetched) {
    const std::optional<IpAddress> ip = IpAddress::Parse(text);
    if (!ip) {
      return absl::UnavailableError(absl::StrCat("inventory '", name, "': openstack returned '",
                                                 absl::CHexEscape(text.substr(0, 64)),
                                                 "', which is not an IP address"));
    }
    if (exclude.Contains(*ip)) continue;
    if (!allowed_.Contains(*ip)) {
      return absl::InvalidArgumentError(absl::StrCat("inventories.", name, ": openstack address ",
                                                     ip->ToString(), " is outside allowed_ranges"));
    }
    out.push_back(ip->ToString());
  }
  return out;
}

absl::Status ScanManager::TakeScanBudget(const ScanCaller& caller, uint32_t per_hour) {
  const absl::Time now = clock_.Now();
  const double rate = static_cast<double>(per_hour) / 3600.0;  // scans per second
  auto [it, fresh] = scan_budgets_.try_emplace(caller.identity);
  ScanBudget& b = it->second;
  if (fresh) {
    b.tokens = per_hour;
  } else {
    b.tokens = std::min<double>(per_hour, b.tokens + absl::ToDoubleSeconds(now - b.updated) * rate);
  }
  b.updated = now;
  if (b.tokens < 1) {
    // Rounded up to whole seconds (less a rounding error of the refill sums).
    const int64_t wait = static_cast<int64_t>(std::ceil((1 - b.tokens) / rate - 1e-6));
    return absl::ResourceExhaustedError(absl::StrCat(
        caller.identity, " may start ", per_hour, " scans per hour (auth.roles.",
        RoleName(caller.role), ".scans_per_hour); retry in ", std::max<int64_t>(wait, 1), " s"));
  }
  b.tokens -= 1;
  return absl::OkStatus();
}

absl::StatusOr<v1::Scan> ScanManager::StartScan(const v1::StartScanRequest& req,
                                                const std::string& schedule,
                                                const ScanCaller& caller) {
  const RoleScope& role_scope =
      caller.scheduler ? ScopeOf(AuthConfig{}, Role::kNone) : ScopeOf(config_.auth, caller.role);
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  bool from_openstack = false;
  size_t fetched = 0;  // addresses from the inventory's openstack block, not excluded
  if (!req.inventory().empty()) {
    if (req.targets().include_size() > 0) {
      return absl::InvalidArgumentError("give either an inventory or targets, not both");
    }
    auto inv = config_.inventories.find(req.inventory());
    if (inv == config_.inventories.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("inventory '", req.inventory(), "' is not configured"));
    }
    include = inv->second.targets;
    exclude = inv->second.exclude;
    if (inv->second.openstack.has_value()) {
      from_openstack = true;
      if (allowed_.empty()) {
        return absl::InvalidArgumentError("allowed_ranges is empty: every scan is refused");
      }
      ASSIGN_OR_RETURN(std::vector<std::string> ips, FetchInventory(req.inventory(), inv->second));
      fetched = ips.size();
      if (ips.empty() && include.empty()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "inventory '", req.inventory(), "' has no addresses: openstack returned none",
            exclude.empty() ? "" : " outside the exclusions"));
      }
      include.insert(include.end(), ips.begin(), ips.end());
    }
  } else {
    include.assign(req.targets().include().begin(), req.targets().include().end());
    exclude.assign(req.targets().exclude().begin(), req.targets().exclude().end());
    if (include.empty()) return absl::InvalidArgumentError("give an inventory or targets");
  }
  for (const auto* list : {&include, &exclude}) {
    for (const std::string& s : *list) {
      if (!s.empty() && s.front() == '@') {
        return absl::InvalidArgumentError(
            absl::StrCat("targets: '", s, "': files are not accepted"));
      }
    }
  }
  const std::string profile_name = req.profile().empty() ? "default" : req.profile();
  auto profile = config_.profiles.find(profile_name);
  if (profile == config_.profiles.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("profile '", profile_name, "' is not configured"));
  }
  const std::string port_spec =
      req.ports().spec().empty() ? profile->second.ports : req.ports().spec();

  absl::StatusOr<TargetSet> targets = TargetSet::Parse(include, exclude);
  if (!targets.ok())
    return absl::InvalidArgumentError(absl::StrCat("targets: ", targets.status().message()));
  if (allowed_.empty()) {
    return absl::InvalidArgumentError("allowed_ranges is empty: every scan is refused");
  }
  AddressRange outside;
  if (!targets->IsSubsetOf(allowed_, &outside)) {
    return absl::InvalidArgumentError(
        absl::StrCat("targets: ", outside.ToString(), " is outside allowed_ranges"));
  }
  if (auto narrow = role_allowed_.find(caller.role);
      !caller.scheduler && narrow != role_allowed_.end() &&
      !targets->IsSubsetOf(narrow->second, &outside)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "targets: ", outside.ToString(), " is outside auth.roles.", RoleName(caller.role),
        ".allowed_ranges (", caller.identity, " has role ", RoleName(caller.role), ")"));
  }
  absl::StatusOr<PortSet> ports = PortSet::Parse(port_spec);
  if (!ports.ok())
    return absl::InvalidArgumentError(absl::StrCat("ports: ", ports.status().message()));
  // Protocol probes: the request's mode and UDP services, else the profile's.
  v1::ProbeMode probe_mode = req.probes();
  if (probe_mode == v1::PROBE_MODE_UNSPECIFIED) probe_mode = ProbeModeOf(profile->second.probes);
  if (!v1::ProbeMode_IsValid(probe_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("probes: ", static_cast<int>(probe_mode), " is not none, verify or all"));
  }
  std::vector<std::string> udp_services =
      req.udp_services_size() > 0
          ? std::vector<std::string>(req.udp_services().begin(), req.udp_services().end())
          : profile->second.udp;
  v1::ScanProfile udp_profile;
  for (const std::string& name : udp_services) udp_profile.add_udp_services(name);
  ASSIGN_OR_RETURN(std::vector<uint16_t> udp_ports, UdpPortsOfProfile(udp_profile));
  const size_t port_count = ports->size() + udp_ports.size();
  absl::uint128 pairs = ProbeSpace::CountPairs(*targets, *ports, udp_ports);
  if (pairs > Permutation::kMaxSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("the scan has ", ToDecimal(pairs), " probes; at most 2^63 are supported"));
  }
  if (pairs > config_.limits.max_probes_per_scan) {
    return absl::InvalidArgumentError(
        absl::StrCat("the scan has ", ToDecimal(pairs), " probes (", ToDecimal(targets->size()),
                     " addresses x ", port_count, " ports), over limits.max_probes_per_scan (",
                     config_.limits.max_probes_per_scan, ")"));
  }
  if (role_scope.max_probes_per_scan != 0 && pairs > role_scope.max_probes_per_scan) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the scan has ", ToDecimal(pairs), " probes (", ToDecimal(targets->size()), " addresses x ",
        port_count, " ports), over auth.roles.", RoleName(caller.role), ".max_probes_per_scan (",
        role_scope.max_probes_per_scan, ")"));
  }

  v1::Scan scan;
  const absl::Time now = clock_.Now();
  scan.set_id(
      absl::StrCat(absl::FormatTime("%Y%m%d-%H%M%S", now, absl::UTCTimeZone()), "-", RandomHex(3)));
  scan.set_state(v1::PENDING);
  scan.set_inventory(req.inventory());
  scan.set_schedule(schedule);
  for (const std::string& s : include) scan.mutable_targets()->add_include(s);
  for (const std::string& s : exclude) scan.mutable_targets()->add_exclude(s);
  v1::ScanProfile* p = scan.mutable_profile();
  p->set_name(profile_name);
  p->mutable_ports()->set_spec(port_spec);
  p->set_timeout_ms(profile->second.timeout_ms);
  p->set_retries(profile->second.retries);
  p->set_rate(profile->second.rate);
  p->set_probes(probe_mode);
  for (const std::string& name : udp_services) p->add_udp_services(name);
  if (role_scope.max_rate > 0 && (p->rate() <= 0 || p->rate() > role_scope.max_rate)) {
    p->set_rate(role_scope.max_rate);  // auth.roles.<role>.max_rate caps the scan
  }
  scan.set_started_by(caller.identity);
  uint64_t seed = req.seed();
  while (seed == 0) seed = std::stoull(RandomHex(8), nullptr, 16);
  scan.set_seed(seed);
  scan.set_probes_total(static_cast<uint64_t>(pairs));
  scan.set_created_unix_ms(absl::ToUnixMillis(now));

  const std::string scope = req.inventory().empty()
                                ? absl::StrCat("adhoc:", absl::StrJoin(include, ","), "!",
                                               absl::StrJoin(exclude, ","), ":", port_spec)
                                : req.inventory();

  absl::MutexLock lock(&mu_);
  if (role_scope.scans_per_hour != 0) {
    RETURN_IF_ERROR(TakeScanBudget(caller, role_scope.scans_per_hour));
  }
  RETURN_IF_ERROR(store_.InsertScan(scan, scope, seq_ + 1));
  RETURN_IF_ERROR(CommitNow());  // acknowledged only once durable
  ++seq_;
  LiveScan live;
  live.scan = scan;
  live.scope = scope;
  live.seq = seq_;
  live.targets = *std::move(targets);
  live.ports = *std::move(ports);
  live.udp_ports = std::move(udp_ports);
  live_.emplace(scan.id(), std::move(live));
  MakeLogger("coordinator")
      ->info(
          "scan started id={} inventory={} schedule={} probes={} ports={} seed={} "
          "started_by={}{}",
          scan.id(), scan.inventory(), schedule, scan.probes_total(), port_spec, seed,
          caller.identity,
          absl::StrCat(from_openstack ? absl::StrCat(" openstack_addresses=", fetched) : "",
                       " probe_mode=", ProbeModeName(probe_mode),
                       udp_services.empty() ? "" : " udp=", absl::StrJoin(udp_services, ",")));
  Changed();
  return scan;
}

absl::StatusOr<v1::Scan> ScanManager::Snapshot(const std::string& id) {
  auto it = live_.find(id);
  if (it != live_.end()) {
    v1::Scan s = it->second.scan;
    s.set_shards_leased(it->second.leases.size());
    return s;
  }
  ASSIGN_OR_RETURN(std::optional<ScanRow> row, store_.LoadScan(id));
  if (!row) return absl::NotFoundError(absl::StrCat("scan '", id, "' does not exist"));
  ASSIGN_OR_RETURN(uint64_t findings, store_.CountFindings(id));
  row->scan.set_findings(findings);
  return row->scan;
}

absl::StatusOr<v1::Scan> ScanManager::GetScan(const std::string& id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(v1::Scan s, Snapshot(id));
  const int64_t end = s.finished_unix_ms() != 0 ? s.finished_unix_ms() : NowMs();
  if (s.started_unix_ms() != 0 && end > s.started_unix_ms()) {
    s.set_probes_per_second(static_cast<double>(s.probes_done()) * 1000.0 /
                            static_cast<double>(end - s.started_unix_ms()));
  }
  return s;
}

absl::StatusOr<std::vector<v1::Scan>> ScanManager::ListScans(uint32_t limit,
                                                             const std::string& inventory) {
  v1::ListScansRequest req;
  req.set_page_size(limit);
  req.set_inventory(inventory);
  ASSIGN_OR_RETURN(v1::ListScansResponse resp, ListScans(req));
  return std::vector<v1::Scan>(std::make_move_iterator(resp.mutable_scans()->begin()),
                               std::make_move_iterator(resp.mutable_scans()->end()));
}

absl::StatusOr<v1::ListScansResponse> ScanManager::ListScans(const v1::ListScansRequest& req) {
  uint32_t size = req.page_size() != 0 ? req.page_size() : req.limit();
  if (size == 0) size = kDefaultPageSize;
  size = std::min(size, kMaxPageSize);
  int64_t before = 0;
  if (!req.page_token().empty()) {
    ASSIGN_OR_RETURN(before, DecodePageToken(req.page_token(), req.inventory()));
  }
  absl::MutexLock lock(&mu_);
  // One more than asked: whether there is a next page.
  ASSIGN_OR_RETURN(std::vector<ScanRow> rows,
                   store_.ListScans(size + 1, req.inventory(), before, kSummarySpecs));
  v1::ListScansResponse resp;
  for (size_t i = 0; i < rows.size() && i < size; ++i) {
    ScanRow& row = rows[i];
    v1::Scan* s = resp.add_scans();
    *s = std::move(row.scan);
    auto it = live_.find(s->id());
    if (it != live_.end()) {
      // Live progress, the summarized targets kept.
      v1::TargetSpec targets = std::move(*s->mutable_targets());
      const uint32_t includes = s->target_include_count();
      const uint32_t excludes = s->target_exclude_count();
      *s = it->second.scan;
      s->set_shards_leased(it->second.leases.size());
      *s->mutable_targets() = std::move(targets);
      s->set_target_include_count(includes);
      s->set_target_exclude_count(excludes);
    } else {
      ASSIGN_OR_RETURN(uint64_t findings, store_.CountFindings(s->id()));
      s->set_findings(findings);
    }
    if (i + 1 == size && rows.size() > size) {
      resp.set_next_page_token(EncodePageToken(row.seq, req.inventory()));
    }
  }
  return resp;
}

absl::StatusOr<v1::Scan> ScanManager::CancelScan(const std::string& id, const ScanCaller& caller) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(v1::Scan current, Snapshot(id));
  if (!caller.scheduler && !RoleAllows(caller.role, Role::kAdmin) &&
      current.started_by() != caller.identity) {
    return absl::PermissionDeniedError(
        absl::StrCat("scan '", id, "' was started by ",
                     current.started_by().empty() ? "an unknown identity" : current.started_by(),
                     "; cancelling another identity's scan needs role admin; ", caller.identity,
                     " has ", RoleName(caller.role)));
  }
  auto it = live_.find(id);
  if (it == live_.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("scan '", id, "' already ended: ", v1::ScanState_Name(current.state())));
  }
  RETURN_IF_ERROR(store_.SetScanState(id, v1::CANCELLED, NowMs(), "cancelled by an operator"));
  RETURN_IF_ERROR(CommitNow());
  for (const auto& [lease_id, lease] : it->second.leases) lease_scan_.erase(lease_id);
  events_->ScanEnded(v1::CANCELLED, RanFor(it->second.scan, clock_.Now()));
  live_.erase(it);
  MakeLogger("coordinator")->info("scan cancelled id={} by={}", id, caller.identity);
  Changed();
  return Snapshot(id);
}

absl::Status ScanManager::ForEachFinding(const std::string& scan_id,
                                         const std::function<void(const v1::Finding&)>& fn) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(v1::Scan s, Snapshot(scan_id));
  (void)s;
  return store_.ForEachFinding(scan_id, fn);
}

absl::StatusOr<std::vector<v1::Finding>> ScanManager::FindingsPage(const std::string& scan_id,
                                                                   const ExposureKey* after,
                                                                   uint32_t limit) {
  absl::MutexLock lock(&mu_);
  if (after == nullptr) {
    ASSIGN_OR_RETURN(v1::Scan s, Snapshot(scan_id));  // NotFound for an unknown scan
    (void)s;
  }
  return store_.FindingsPage(scan_id, after, limit);
}

absl::StatusOr<v1::ScanDiff> ScanManager::DiffScan(const std::string& id,
                                                   const std::string& base_id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(std::optional<ScanRow> row, store_.LoadScan(id));
  if (!row) return absl::NotFoundError(absl::StrCat("scan '", id, "' does not exist"));
  std::string base = base_id;
  if (base.empty()) {
    ASSIGN_OR_RETURN(std::optional<std::string> prev,
                     store_.PreviousSucceeded(row->scope, row->seq));
    if (prev) base = *prev;
  } else {
    ASSIGN_OR_RETURN(std::optional<ScanRow> b, store_.LoadScan(base));
    if (!b) return absl::NotFoundError(absl::StrCat("scan '", base, "' does not exist"));
  }
  ASSIGN_OR_RETURN(ExposureMap now_open, store_.OpenPairs(id));
  ExposureMap before;
  if (!base.empty()) {
    // The base as its report left it: its flaps undone (a new pair that was
    // not open again was never an exposure; a closed one open again stayed
    // one), as the scope's exposures, which the report compares with.
    ASSIGN_OR_RETURN(before, store_.OpenPairs(base));
    ASSIGN_OR_RETURN(std::vector<ConfirmationRow> base_rows, store_.LoadConfirmations(base));
    for (const ConfirmationRow& r : base_rows) {
      if (!r.done || r.seen_open != r.closed) continue;  // confirmed, or never probed
      const ExposureKey key(r.ip, r.port, r.transport);
      if (r.closed) {
        before.emplace(key, ExposureInfo(0));
      } else {
        before.erase(key);
      }
    }
  }
  // What confirmation probed again, and found.
  ASSIGN_OR_RETURN(std::vector<ConfirmationRow> rows, store_.LoadConfirmations(id));
  std::map<ExposureKey, bool> seen_open_again;
  for (const ConfirmationRow& r : rows) {
    if (r.done) seen_open_again[ExposureKey(r.ip, r.port, r.transport)] = r.seen_open;
  }
  v1::ScanDiff diff;
  diff.set_scan_id(id);
  diff.set_base_scan_id(base);
  for (const ExposureDelta& d : DiffExposures(before, now_open)) {
    auto again = seen_open_again.find(d.key);
    const bool flapped = again != seen_open_again.end() &&
                         ((d.change == ExposureChange::kNew && !again->second) ||
                          (d.change == ExposureChange::kClosed && again->second));
    v1::DiffEntry* e = nullptr;
    switch (d.change) {
      case ExposureChange::kNew:
        e = flapped ? diff.add_flapped_new() : diff.add_new_open();
        break;
      case ExposureChange::kClosed:
        e = flapped ? diff.add_flapped_closed() : diff.add_closed();
        break;
      case ExposureChange::kStillOpen:
        e = diff.add_still_open();
        break;
    }
    e->set_ip(d.key.ip);
    e->set_port(d.key.port);
    const auto t = static_cast<v1::Transport>(d.key.transport);
    e->set_transport(t);
    e->set_service(ExposureServiceName(d.key.port, t, d.detail.verified, d.detail.service));
    e->set_verified(d.detail.verified);
    if (!d.detail.evidence.empty()) e->mutable_evidence()->ParseFromString(d.detail.evidence);
  }
  return diff;
}

std::vector<v1::WorkerInfo> ScanManager::ListWorkers() {
  absl::MutexLock lock(&mu_);
  std::map<std::string, uint32_t> leases;
  for (const auto& [id, scan] : live_) {
    for (const auto& [lease_id, lease] : scan.leases) ++leases[lease.worker_id];
  }
  std::vector<v1::WorkerInfo> out;
  for (const auto& [id, w] : workers_) {
    v1::WorkerInfo info;
    info.set_id(id);
    info.set_name(w.name);
    info.set_connected_unix_ms(absl::ToUnixMillis(w.connected));
    info.set_last_seen_unix_ms(absl::ToUnixMillis(w.last_seen));
    info.set_leases(leases[id]);
    info.set_probes_done(w.probes_done);
    out.push_back(std::move(info));
  }
  return out;
}

uint64_t ScanManager::WaitForChange(uint64_t version, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  const absl::Time deadline = absl::Now() + timeout;
  while (version_ == version) {
    if (changed_.WaitWithDeadline(&mu_, deadline)) break;
  }
  return version_;
}

uint64_t ScanManager::version() {
  absl::MutexLock lock(&mu_);
  return version_;
}

bool ScanManager::ScheduleRunning(const std::string& schedule) {
  absl::MutexLock lock(&mu_);
  for (const auto& [id, scan] : live_) {
    if (scan.scan.schedule() == schedule) return true;
  }
  return false;
}

absl::StatusOr<ScanManager::Worker*> ScanManager::Authenticate(const std::string& id,
                                                               const std::string& token,
                                                               const std::string& identity) {
  if (id.empty()) return absl::InvalidArgumentError("worker_id is empty");
  auto it = workers_.find(id);
  if (it == workers_.end()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "worker '", id, "' is not registered (or was silent too long): register again"));
  }
  if (!identity.empty() && !it->second.identity.empty() && it->second.identity != identity) {
    return absl::PermissionDeniedError(
        absl::StrCat("worker ", id, " is registered to ", it->second.identity));
  }
  if (!WorkerTokenMatches(token, it->second.token_hash)) {
    return absl::PermissionDeniedError(
        absl::StrCat("worker '", id, "': the worker token does not match its registration"));
  }
  it->second.last_seen = clock_.Now();
  return &it->second;
}

absl::StatusOr<v1::RegisterWorkerResponse> ScanManager::RegisterWorker(
    const v1::RegisterWorkerRequest& req, const std::string& identity) {
  if (req.name().size() > 256 || req.worker_id().size() > 128) {
    return absl::InvalidArgumentError("worker name or id is longer than 256 characters");
  }
  absl::MutexLock lock(&mu_);
  const std::string id =
      req.worker_id().empty() ? absl::StrCat("w-", RandomHex(6)) : req.worker_id();
  const absl::Time now = clock_.Now();
  std::string token;
  auto it = workers_.find(id);
  if (it != workers_.end()) {
    // The same worker again (say, after a coordinator restart) proves it with
    // its identity and its token; anyone else may not take over its id and
    // leases.
    if (!identity.empty() && !it->second.identity.empty() && it->second.identity != identity) {
      return absl::PermissionDeniedError(
          absl::StrCat("worker ", id, " is registered to ", it->second.identity));
    }
    if (!WorkerTokenMatches(req.worker_token(), it->second.token_hash)) {
      return absl::AlreadyExistsError(absl::StrCat(
          "worker id '", id, "' is registered by a live worker (name '", it->second.name,
          "'); re-registering needs its worker_token, or choose another id"));
    }
    token = req.worker_token();
  } else {
    token = NewWorkerToken();
    it = workers_.emplace(id, Worker{}).first;
    it->second.connected = now;
    it->second.token_hash = HashWorkerToken(token);
    MakeLogger("coordinator")
        ->info("worker joined id={} name={}", id, req.name().empty() ? id : req.name());
  }
  Worker& w = it->second;
  if (!req.name().empty()) w.name = req.name();
  if (w.name.empty()) w.name = id;
  if (req.concurrency() != 0) w.concurrency = req.concurrency();
  if (w.identity.empty()) w.identity = identity;  // bound to the identity that registered it
  w.last_seen = now;
  RETURN_IF_ERROR(
      store_.SaveWorker({id, w.name, w.token_hash, absl::ToUnixMillis(w.connected), w.identity}));
  // Committed before the worker gets its token: a restart must accept it.
  Durable(store_.Commit());
  v1::RegisterWorkerResponse resp;
  resp.set_worker_id(id);
  resp.set_heartbeat_interval_ms(config_.lease.heartbeat_seconds * 1000);
  resp.set_worker_token(token);
  Changed();
  return resp;
}

uint64_t ScanManager::ShardSize(const LiveScan& scan, double rate) const {
  // A capped scan's worker probes at its share, whatever it measured when
  // it ran faster.
  double size = rate > 0 ? rate * config_.lease.shard_seconds
                : scan.probes_per_lease_second > 0
                    ? scan.probes_per_lease_second * config_.lease.shard_seconds
                    : static_cast<double>(kInitialShard);
  uint64_t n = static_cast<uint64_t>(
      std::clamp(size, static_cast<double>(kMinShard), static_cast<double>(kMaxShard)));
  // Near the end, an even split of what is left, so the workers finish
  // together (every shard also ends with a tail of unanswered probes, so
  // splitting further would cost more than it balances).
  const uint64_t remaining = scan.scan.probes_total() - scan.next_index;
  const uint64_t workers = std::max<uint64_t>(1, workers_.size());
  n = std::min(n, std::max(kMinShard, (remaining + workers - 1) / workers));
  return std::min(n, remaining);
}

bool ScanManager::HoldsLease(const LiveScan& scan, const std::string& worker_id) const {
  for (const auto& [lease_id, lease] : scan.leases) {
    if (lease.worker_id == worker_id) return true;
  }
  return false;
}

double ScanManager::Counted(const LiveScan& scan, const std::string& worker_id) const {
  auto share = scan.shares.find(worker_id);
  double counted = share == scan.shares.end() ? 0 : share->second.target;
  for (const auto& [lease_id, lease] : scan.leases) {
    if (lease.worker_id == worker_id) counted = std::max(counted, lease.rate);
  }
  return counted;
}

bool ScanManager::Rebalance(LiveScan& scan) {
  const double cap = scan.scan.profile().rate();
  if (cap <= 0 || scan.shares.empty()) return false;
  const double fair = cap / static_cast<double>(scan.shares.size());
  for (auto& [worker_id, share] : scan.shares) share.target = std::min(share.target, fair);
  double used = 0;
  for (const auto& [worker_id, share] : scan.shares) used += Counted(scan, worker_id);
  double free = std::max(0.0, cap - used);
  bool raised = false;
  for (auto& [worker_id, share] : scan.shares) {
    if (share.target >= fair) continue;
    // Up to what it counts already costs nothing; beyond, the free budget.
    const double counted = Counted(scan, worker_id);
    const double next = std::min(fair, counted + free);
    if (next <= share.target) continue;
    free = std::max(0.0, free - std::max(0.0, next - counted));
    share.target = next;
    raised = true;
  }
  return raised;
}

std::optional<double> ScanManager::Reserve(LiveScan& scan, const std::string& worker_id) {
  const double cap = scan.scan.profile().rate();
  const absl::Time until = clock_.Now() + absl::Seconds(config_.lease.ttl_seconds);
  auto it = scan.shares.find(worker_id);
  if (it == scan.shares.end()) {
    // Each share fills at least a minimum shard in shard_seconds.
    const double holders = std::max(1.0, std::floor(cap * config_.lease.shard_seconds / kMinShard));
    if (static_cast<double>(scan.shares.size()) >= holders) return std::nullopt;
    it = scan.shares.emplace(worker_id, RateShare{0, until}).first;
    if (Rebalance(scan)) Changed();
  } else {
    it->second.reserved_until = until;
  }
  const double fair = cap / static_cast<double>(scan.shares.size());
  if (it->second.target >= fair * (1 - 1e-9)) return it->second.target;
  return std::nullopt;
}

void ScanManager::LeaseEnded(LiveScan& scan, const std::string& worker_id) {
  if (scan.shares.count(worker_id) == 0) return;
  if (!HoldsLease(scan, worker_id)) scan.shares.erase(worker_id);
  // Its rate no longer counts, nor maybe the worker's whole share.
  if (Rebalance(scan)) Changed();
}

absl::StatusOr<v1::LeaseShardResponse> ScanManager::Grant(LiveScan& scan,
                                                          const std::string& worker_id,
                                                          double rate) {
  v1::LeaseShardResponse resp;
  Lease lease;
  lease.scan_id = scan.scan.id();
  lease.worker_id = worker_id;
  lease.leased_at = clock_.Now();
  lease.deadline = lease.leased_at + absl::Seconds(config_.lease.ttl_seconds);
  lease.rate = rate;
  const std::string lease_id = absl::StrCat("l-", RandomHex(8));
  ShardRow row;
  row.scan_id = lease.scan_id;
  row.lease_id = lease_id;
  row.worker_id = worker_id;
  if (!scan.pending.empty()) {
    PendingShard p = scan.pending.front();
    lease.begin = p.begin;
    lease.end = p.end;
    lease.attempts = p.attempts + 1;
    row.begin = p.begin;
    row.end = p.end;
    row.attempts = lease.attempts;
    RETURN_IF_ERROR(store_.LeaseShardAgain(row));
    scan.pending.pop_front();
  } else {
    lease.begin = scan.next_index;
    lease.end = scan.next_index + ShardSize(scan, rate);
    lease.attempts = 1;
    row.begin = lease.begin;
    row.end = lease.end;
    row.attempts = 1;
    RETURN_IF_ERROR(store_.LeaseNewShard(row));
    scan.next_index = lease.end;
  }
  if (scan.scan.state() == v1::PENDING) {
    RETURN_IF_ERROR(store_.SetScanState(scan.scan.id(), v1::RUNNING, NowMs(), ""));
    scan.scan.set_state(v1::RUNNING);
    scan.scan.set_started_unix_ms(NowMs());
  }
  v1::Shard* shard = resp.mutable_shard();
  shard->set_lease_id(lease_id);
  shard->set_scan_id(lease.scan_id);
  *shard->mutable_targets() = scan.scan.targets();
  *shard->mutable_profile() = scan.scan.profile();
  shard->mutable_profile()->set_rate(rate);
  shard->mutable_slice()->set_seed(scan.scan.seed());
  shard->mutable_slice()->set_begin(lease.begin);
  shard->mutable_slice()->set_end(lease.end);
  shard->set_lease_deadline_unix_ms(absl::ToUnixMillis(lease.deadline));
  scan.leases[lease_id] = lease;
  lease_scan_[lease_id] = lease.scan_id;
  last_served_seq_ = scan.seq;
  events_->LeaseGranted();
  Durable(store_.CommitIfOlderThan(kGroupCommit));
  Changed();
  return resp;
}

absl::StatusOr<v1::LeaseShardResponse> ScanManager::LeaseShard(const v1::LeaseShardRequest& req,
                                                               const std::string& identity) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(Authenticate(req.worker_id(), req.worker_token(), identity).status());
  const std::string& worker_id = req.worker_id();
  // Confirmation shards first: they are small, and a report waits for them.
  ASSIGN_OR_RETURN(std::optional<v1::LeaseShardResponse> confirmation,
                   GrantConfirmation(worker_id));
  if (confirmation) return *std::move(confirmation);
  // Round-robin over the scans with work, in creation order, starting after
  // the one served last (see the header comment).
  std::vector<LiveScan*> order;
  for (auto& [id, scan] : live_) {
    if (!scan.pending.empty() || scan.next_index < scan.scan.probes_total()) {
      order.push_back(&scan);
    }
  }
  std::sort(order.begin(), order.end(),
            [](const LiveScan* a, const LiveScan* b) { return a->seq < b->seq; });
  const int64_t cursor = last_served_seq_;
  std::rotate(order.begin(),
              std::find_if(order.begin(), order.end(),
                           [cursor](const LiveScan* s) { return s->seq > cursor; }),
              order.end());
  LiveScan* pipelined = nullptr;  // a capped scan whose share this worker already uses
  for (LiveScan* scan : order) {
    if (scan->scan.profile().rate() <= 0) return Grant(*scan, worker_id, 0);
    auto share = scan->shares.find(worker_id);
    if (share != scan->shares.end() && HoldsLease(*scan, worker_id)) {
      if (pipelined == nullptr) pipelined = scan;
      continue;
    }
    if (std::optional<double> rate = Reserve(*scan, worker_id)) {
      return Grant(*scan, worker_id, *rate);
    }
  }
  if (pipelined != nullptr) {
    return Grant(*pipelined, worker_id, pipelined->shares.at(worker_id).target);
  }
  v1::LeaseShardResponse resp;
  resp.set_retry_after_ms(live_.empty() ? 1000 : 250);
  return resp;
}

absl::StatusOr<v1::HeartbeatResponse> ScanManager::Heartbeat(const v1::HeartbeatRequest& req,
                                                             const std::string& identity) {
  absl::MutexLock lock(&mu_);
  // Probes are counted when their shard completes (CompleteShard), exactly
  // once; a heartbeat's probes_done would count them twice.
  RETURN_IF_ERROR(Authenticate(req.worker_id(), req.worker_token(), identity).status());
  const std::string& worker_id = req.worker_id();
  const absl::Time now = clock_.Now();
  const absl::Duration ttl = absl::Seconds(config_.lease.ttl_seconds);
  const absl::Time deadline = now + ttl;
  v1::HeartbeatResponse resp;
  std::map<std::string, std::vector<Lease*>> listed;  // by scan
  for (const std::string& lease_id : req.lease_ids()) {
    absl::StatusOr<std::pair<LiveScan*, Lease*>> held = HeldLease(lease_id, worker_id);
    if (!held.ok() || held->second == nullptr) {
      if (!held.ok()) MakeLogger("coordinator")->warn("heartbeat: {}", held.status().message());
      resp.add_cancelled_lease_ids(lease_id);
      continue;
    }
    held->second->deadline = deadline;
    listed[held->first->scan.id()].push_back(held->second);
  }
  // A lease granted a moment ago may be missing from a heartbeat built
  // before its answer arrived: the worker holds it all the same.
  for (auto& [id, scan] : live_) {
    for (auto& [lease_id, lease] : scan.leases) {
      if (lease.worker_id == worker_id && now - lease.leased_at <= ttl) {
        lease.deadline = std::max(lease.deadline, deadline);
      }
    }
  }
  // Acknowledged shares: the worker applies `rate` to every slice of the
  // scan it listed, and may raise it to its target at most.
  for (const v1::ScanRate& applied : req.applied_rates()) {
    auto scan = live_.find(applied.scan_id());
    if (scan == live_.end()) continue;
    auto share = scan->second.shares.find(worker_id);
    auto leases = listed.find(applied.scan_id());
    if (share == scan->second.shares.end() || leases == listed.end()) continue;
    const double bound = std::max(applied.rate(), share->second.target);
    for (Lease* lease : leases->second) lease->rate = std::min(lease->rate, bound);
    if (Rebalance(scan->second)) Changed();
  }
  for (const auto& [id, scan] : live_) {
    auto share = scan.shares.find(worker_id);
    if (share == scan.shares.end() || !HoldsLease(scan, worker_id)) continue;
    v1::ScanRate* rate = resp.add_scan_rates();
    rate->set_scan_id(id);
    rate->set_rate(share->second.target);
  }
  resp.set_lease_deadline_unix_ms(absl::ToUnixMillis(deadline));
  return resp;
}

absl::StatusOr<std::pair<ScanManager::LiveScan*, ScanManager::Lease*>> ScanManager::HeldLease(
    const std::string& lease_id, const std::string& worker_id) {
  std::pair<LiveScan*, Lease*> none{nullptr, nullptr};
  auto ls = lease_scan_.find(lease_id);
  if (ls == lease_scan_.end()) return none;
  auto scan = live_.find(ls->second);
  if (scan == live_.end()) return none;
  auto it = scan->second.leases.find(lease_id);
  if (it == scan->second.leases.end()) return none;
  if (it->second.worker_id != worker_id) {
    return absl::PermissionDeniedError(absl::StrCat("lease '", lease_id, "' was issued to worker '",
                                                    it->second.worker_id, "', not to worker '",
                                                    worker_id, "'"));
  }
  return std::make_pair(&scan->second, &it->second);
}

namespace {

// What a probe reported with a result, held to the probe library's bounds
// (common/evidence_check.h): a worker is not trusted to have used it.
absl::Status CheckProbeFields(const std::string& field, const v1::ProbeResult& r) {
  RETURN_IF_ERROR(CheckTransport(absl::StrCat(field, ".transport"), r.transport()));
  if (r.verified() && !IsProbeService(r.service())) {
    return FieldError(absl::StrCat(field, ".service"),
                      absl::StrCat(QuoteFieldValue(r.service()), " (", r.service().size(),
                                   " bytes) is not a service a probe names"));
  }
  if (r.service().size() > kMaxEvidenceService) {
    return FieldError(absl::StrCat(field, ".service"),
                      absl::StrCat(r.service().size(), " bytes, at most ", kMaxEvidenceService));
  }
  if (r.has_evidence()) RETURN_IF_ERROR(CheckEvidence(absl::StrCat(field, ".evidence"), r.evidence()));
  return absl::OkStatus();
}

}  // namespace

absl::Status ScanManager::ReportFindings(const v1::ReportFindingsRequest& req,
                                         const std::string& identity) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(Authenticate(req.worker_id(), req.worker_token(), identity).status());
  ASSIGN_OR_RETURN(auto held, HeldLease(req.lease_id(), req.worker_id()));
  if (held.second == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("lease '", req.lease_id(), "' is not held (expired, or its scan ended)"));
  }
  LiveScan& scan = *held.first;
  const Lease& lease = *held.second;
  RETURN_IF_ERROR(EnsureSpace(scan));
  std::vector<v1::ProbeResult> open;
  std::vector<uint64_t> seen_open;  // a confirmation lease's open indices
  for (int i = 0; i < req.results_size(); ++i) {
    const v1::ProbeResult& r = req.results(i);
    auto ip = IpAddress::Parse(r.ip());
    if (!ip || r.port() == 0 || r.port() > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("result '", r.ip(), ":", r.port(), "' is not an address and port"));
    }
    RETURN_IF_ERROR(CheckProbeFields(absl::StrCat("results[", i, "]"), r));
    const bool udp = r.transport() == v1::TRANSPORT_UDP;
    const std::optional<uint64_t> index = scan.space->IndexOf(
        {*ip, static_cast<uint16_t>(r.port()), udp ? probes::Transport::kUdp : probes::Transport::kTcp});
    if (!index) {
      return absl::InvalidArgumentError(absl::StrCat("result ", r.ip(), ":", r.port(),
                                                     udp ? "/udp" : "", " is not part of scan ",
                                                     scan.scan.id()));
    }
    if (!lease.confirm.empty()) {
      if (!std::binary_search(lease.confirm.begin(), lease.confirm.end(), *index)) {
        return absl::InvalidArgumentError(
            absl::StrCat("result ", r.ip(), ":", r.port(), " is outside confirmation lease '",
                         req.lease_id(), "' of scan ", scan.scan.id(), ": its probe index ", *index,
                         " is not one of its confirm_indices"));
      }
      if (r.state() == v1::PROBE_STATE_OPEN) seen_open.push_back(*index);
      continue;
    }
    if (*index < lease.begin || *index >= lease.end) {
      return absl::InvalidArgumentError(
          absl::StrCat("result ", r.ip(), ":", r.port(), " is outside lease '", req.lease_id(),
                       "' of scan ", scan.scan.id(), ": its probe index ", *index, " is not in [",
                       lease.begin, ", ", lease.end, ")"));
    }
    if (r.state() == v1::PROBE_STATE_OPEN) open.push_back(r);
  }
  if (!seen_open.empty()) {
    // Seen again: recorded (durably, before the answer), not a new finding.
    for (uint64_t i : seen_open) {
      RETURN_IF_ERROR(store_.UpdateConfirmation(scan.scan.id(), i, false, true));
    }
    RETURN_IF_ERROR(CommitNow());
    Changed();
    return absl::OkStatus();
  }
  if (open.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(uint64_t inserted, store_.InsertFindings(scan.scan.id(), open, NowMs()));
  scan.scan.set_findings(scan.scan.findings() + inserted);
  findings_total_ += inserted;
  // Committed before the worker hears "stored": it completes the shard only
  // after that, and a completion may reach a restarted coordinator, so
  // acknowledged findings must never be lost with a crash. (Findings are
  // rare, one batch per shard at most in practice; leases and completions
  // stay group-committed.) A failed commit is an error to the worker, which
  // sends them again.
  RETURN_IF_ERROR(CommitNow());
  Changed();
  return absl::OkStatus();
}

absl::Status ScanManager::CompleteShard(const v1::CompleteShardRequest& req,
                                        const std::string& identity) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(Authenticate(req.worker_id(), req.worker_token(), identity).status());
  ASSIGN_OR_RETURN(auto held, HeldLease(req.lease_id(), req.worker_id()));
  if (held.second == nullptr) return absl::OkStatus();  // stale: its shard went elsewhere
  LiveScan& scan = *held.first;
  Lease lease = *held.second;
  scan.leases.erase(req.lease_id());
  lease_scan_.erase(req.lease_id());
  LeaseEnded(scan, lease.worker_id);
  if (!lease.confirm.empty()) {
    if (req.handed_back()) {
      scan.confirm_pending.push_front(
          {lease.confirm, lease.avoid, clock_.Now() - ConfirmWait(), lease.attempts - 1});
      events_->ShardHandedBack();
      Changed();
      return absl::OkStatus();
    }
    for (uint64_t i : lease.confirm) {
      RETURN_IF_ERROR(store_.UpdateConfirmation(scan.scan.id(), i, true, false));
    }
    events_->ShardCompleted(clock_.Now() - lease.leased_at);
    Changed();
    RETURN_IF_ERROR(MaybeFinish(scan));
    Durable(store_.CommitIfOlderThan(kGroupCommit));
    return absl::OkStatus();
  }
  if (req.handed_back()) {
    RETURN_IF_ERROR(store_.ReleaseShard(scan.scan.id(), lease.begin, lease.attempts - 1));
    scan.pending.push_front({lease.begin, lease.end, lease.attempts - 1});
    MakeLogger("coordinator")
        ->info("shard handed back scan={} begin={} end={} worker={}", scan.scan.id(), lease.begin,
               lease.end, lease.worker_id);
    events_->ShardHandedBack();
    Changed();
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(store_.CompleteShard(scan.scan.id(), lease.begin, lease.end));
  scan.completed_by[lease.begin] = {lease.end, lease.worker_id};
  events_->ShardCompleted(clock_.Now() - lease.leased_at);
  const uint64_t size = lease.end - lease.begin;
  scan.scan.set_probes_done(scan.scan.probes_done() + size);
  scan.scan.set_shards_done(scan.scan.shards_done() + 1);
  probes_done_total_ += size;
  if (auto w = workers_.find(lease.worker_id); w != workers_.end()) w->second.probes_done += size;
  const double secs = absl::ToDoubleSeconds(clock_.Now() - lease.leased_at);
  if (secs > 0.05) {
    const double rate = static_cast<double>(size) / secs;
    scan.probes_per_lease_second =
        scan.probes_per_lease_second == 0 ? rate : 0.7 * scan.probes_per_lease_second + 0.3 * rate;
  } else if (scan.probes_per_lease_second == 0 || secs <= 0.05) {
    // Finished almost at once: grow the next shard.
    scan.probes_per_lease_second =
        std::max(scan.probes_per_lease_second,
                 static_cast<double>(size) * 4 / std::max(config_.lease.shard_seconds, 0.1));
  }
  Changed();
  RETURN_IF_ERROR(MaybeFinish(scan));
  Durable(store_.CommitIfOlderThan(kGroupCommit));
  return absl::OkStatus();
}

absl::Status ScanManager::FailScan(LiveScan& scan, const std::string& error) {
  const std::string id = scan.scan.id();
  RETURN_IF_ERROR(store_.SetScanState(id, v1::FAILED, NowMs(), error));
  Durable(store_.Commit());
  for (const auto& [lease_id, lease] : scan.leases) lease_scan_.erase(lease_id);
  MakeLogger("coordinator")->error("scan failed id={} error={}", id, error);
  events_->ScanEnded(v1::FAILED, RanFor(scan.scan, clock_.Now()));
  live_.erase(id);
  Changed();
  return absl::OkStatus();
}

absl::Status ScanManager::MaybeFinish(LiveScan& scan) {
  if (scan.next_index < scan.scan.probes_total() || !scan.pending.empty() || !scan.leases.empty() ||
      !scan.confirm_pending.empty()) {
    return absl::OkStatus();
  }
  const std::string id = scan.scan.id();
  const int64_t now_ms = NowMs();
  ASSIGN_OR_RETURN(std::optional<std::string> base, store_.PreviousSucceeded(scan.scope, scan.seq));
  ASSIGN_OR_RETURN(ExposureMap before, store_.Exposures(scan.scope));
  v1::ScanReport report;  // the header; the exposures are rows of the store
  report.set_scan_id(id);
  report.set_inventory(scan.scan.inventory());
  report.set_base_scan_id(base.value_or(""));
  report.set_started_unix_ms(scan.scan.started_unix_ms());
  report.set_finished_unix_ms(now_ms);
  report.set_probes(scan.scan.probes_done());
  std::vector<ExposureDelta> diff;
  {
    ASSIGN_OR_RETURN(ExposureMap now_open, store_.OpenPairs(id));
    diff = DiffExposures(before, now_open);
    RETURN_IF_ERROR(CheckCanaries(scan, now_open));
  }
  // Exposures of the scope that stay as they were, unreported: ports of
  // scanned addresses this scan did not probe (another port set, UDP
  // services not probed this time), a degraded run's closed pairs, and
  // closed pairs that were open again (flaps). (An address no longer in the
  // targets is closed, as before: it left the inventory.)
  std::vector<ExposureDelta> unreported;
  {
    RETURN_IF_ERROR(EnsureSpace(scan));
    std::vector<ExposureDelta> kept;
    for (ExposureDelta& d : diff) {
      const std::optional<IpAddress> ip = IpAddress::Parse(d.key.ip);
      if (d.change == ExposureChange::kClosed && ip && scan.targets.Contains(*ip) &&
          !IndexOfKey(scan, d.key)) {
        unreported.push_back(std::move(d));
      } else {
        kept.push_back(std::move(d));
      }
    }
    diff = std::move(kept);
  }
  bool degraded = false;
  for (const v1::CanaryResult& c : scan.scan.canaries()) {
    if (!c.missed()) continue;
    degraded = true;
    report.add_missed_canaries(
        absl::StrCat(c.ip(), ":", c.port(), c.transport() == v1::TRANSPORT_UDP ? "/udp" : "/tcp"));
  }
  const v1::ScanState final_state = degraded ? v1::DEGRADED : v1::SUCCEEDED;
  report.set_degraded(degraded);
  if (degraded) {
    // A run that missed a canary may have missed anything: it never says
    // that an exposure closed.
    std::vector<ExposureDelta> kept;
    size_t suppressed = 0;
    for (ExposureDelta& d : diff) {
      if (d.change == ExposureChange::kClosed) {
        unreported.push_back(std::move(d));
        ++suppressed;
      } else {
        kept.push_back(std::move(d));
      }
    }
    diff = std::move(kept);
    MakeLogger("coordinator")
        ->warn("scan degraded id={} missed_canaries={} closed_suppressed={}", id,
               absl::StrJoin(report.missed_canaries(), ","), suppressed);
  }

  // Confirmation: the changes are probed again before the report.
  ASSIGN_OR_RETURN(std::vector<ConfirmationRow> rows, store_.LoadConfirmations(id));
  if (!scan.confirming && rows.empty()) {
    RETURN_IF_ERROR(EnsureSpace(scan));
    for (const ExposureDelta& d : diff) {
      if (d.change == ExposureChange::kStillOpen) continue;
      const std::optional<uint64_t> index = IndexOfKey(scan, d.key);
      if (!index) continue;  // not a pair of this scan: nothing to probe again
      rows.push_back({*index, d.key.ip, d.key.port, d.change == ExposureChange::kClosed, false,
                      false, d.key.transport});
    }
    if (!rows.empty()) {
      RETURN_IF_ERROR(store_.InsertConfirmations(id, rows));
      RETURN_IF_ERROR(CommitNow());
      scan.confirming = true;
      QueueConfirmations(scan, rows);
      MakeLogger("coordinator")
          ->info("scan confirming id={} changes={} confirmation_shards={}", id, rows.size(),
                 scan.confirm_pending.size());
      Changed();
      return absl::OkStatus();
    }
  }
  std::map<ExposureKey, const ConfirmationRow*> probed;
  for (const ConfirmationRow& r : rows) probed[ExposureKey(r.ip, r.port, r.transport)] = &r;
  uint64_t confirmed = 0;
  uint64_t flaps = 0;
  {
    std::vector<ExposureDelta> kept;
    for (ExposureDelta& d : diff) {
      auto it = probed.find(d.key);
      if (d.change == ExposureChange::kStillOpen || it == probed.end()) {
        kept.push_back(std::move(d));
        continue;
      }
      const bool closed = d.change == ExposureChange::kClosed;
      if (it->second->seen_open == closed) {
        ++flaps;
        if (report.flaps_size() < kMaxReportFlaps) {
          v1::Flap* f = report.add_flaps();
          f->set_ip(d.key.ip);
          f->set_port(d.key.port);
          f->set_transport(static_cast<v1::Transport>(d.key.transport));
          f->set_status(closed ? v1::CLOSED : v1::NEW);
        }
        if (closed) unreported.push_back(std::move(d));
        continue;
      }
      ++confirmed;
      kept.push_back(std::move(d));
    }
    diff = std::move(kept);
  }
  report.set_flap_count(flaps);
  scan.scan.set_confirmations(confirmed);
  scan.scan.set_flaps(flaps);
  uint64_t added = 0;
  uint64_t closed = 0;
  for (const ExposureDelta& d : diff) {
    added += d.change == ExposureChange::kNew ? 1 : 0;
    closed += d.change == ExposureChange::kClosed ? 1 : 0;
  }
  const uint64_t open_now = diff.size() - closed;
  RETURN_IF_ERROR(store_.SetScanSpec(id, scan.scan));
  RETURN_IF_ERROR(
      store_.FinishScanWithReport(id, now_ms, scan.scope, report, diff, final_state, unreported));
  Durable(store_.Commit());
  MakeLogger("coordinator")
      ->info(
          "scan {} id={} probes={} open={} new={} still_open={} closed={} confirmed={} flaps={} "
          "base={} report={}",
          degraded ? "degraded" : "succeeded", id, scan.scan.probes_done(), open_now, added,
          open_now - added, closed, confirmed, flaps, base.value_or("none"),
          config_.notifier_address.empty() ? "pending (no notifier configured)"
                                           : "queued for " + config_.notifier_address);
  events_->ScanEnded(final_state, RanFor(scan.scan, clock_.Now()));
  live_.erase(id);
  Changed();
  return absl::OkStatus();
}

std::optional<uint64_t> ScanManager::IndexOfKey(const LiveScan& scan, const ExposureKey& key) {
  const std::optional<IpAddress> ip = IpAddress::Parse(key.ip);
  if (!ip || key.port == 0 || key.port > 65535 || scan.space == nullptr) return std::nullopt;
  return scan.space->IndexOf(
      {*ip, static_cast<uint16_t>(key.port),
       key.transport == kExposureUdp ? probes::Transport::kUdp : probes::Transport::kTcp});
}

absl::Status ScanManager::EnsureSpace(LiveScan& scan) {
  if (scan.space != nullptr) return absl::OkStatus();
  ASSIGN_OR_RETURN(ProbeSpace space,
                   ProbeSpace::Create(scan.targets, scan.ports, scan.scan.seed(), scan.udp_ports));
  scan.space = std::make_shared<const ProbeSpace>(std::move(space));
  return absl::OkStatus();
}

void ScanManager::QueueConfirmations(LiveScan& scan, const std::vector<ConfirmationRow>& rows) {
  std::map<std::string, std::vector<uint64_t>> by_worker;
  for (const ConfirmationRow& r : rows) {
    if (r.done) continue;
    std::string worker;
    auto it = scan.completed_by.upper_bound(r.index);
    if (it != scan.completed_by.begin()) {
      --it;
      if (r.index < it->second.first) worker = it->second.second;
    }
    by_worker[worker].push_back(r.index);
  }
  for (auto& [worker, indices] : by_worker) {
    std::sort(indices.begin(), indices.end());
    for (size_t i = 0; i < indices.size(); i += kMaxConfirmShard) {
      ConfirmShard shard;
      shard.indices.assign(indices.begin() + static_cast<std::ptrdiff_t>(i),
                           indices.begin() + static_cast<std::ptrdiff_t>(
                                                 std::min(indices.size(), i + kMaxConfirmShard)));
      shard.avoid = worker;
      shard.since = clock_.Now();
      scan.confirm_pending.push_back(std::move(shard));
    }
  }
}

absl::StatusOr<std::optional<v1::LeaseShardResponse>> ScanManager::GrantConfirmation(
    const std::string& worker_id) {
  const absl::Time now = clock_.Now();
  const absl::Duration ttl = absl::Seconds(config_.lease.ttl_seconds);
  // Another registered worker (one silent for 3 x ttl is forgotten, Tick).
  bool other_live = false;
  for (const auto& [id, w] : workers_) {
    if (id != worker_id && now - w.last_seen <= 3 * ttl) other_live = true;
  }
  for (auto& [scan_id, scan] : live_) {
    for (auto it = scan.confirm_pending.begin(); it != scan.confirm_pending.end(); ++it) {
      if (!it->avoid.empty() && it->avoid == worker_id && other_live &&
          now - it->since < ConfirmWait()) {
        continue;
      }
      ConfirmShard shard = std::move(*it);
      scan.confirm_pending.erase(it);
      Lease lease;
      lease.scan_id = scan_id;
      lease.worker_id = worker_id;
      lease.leased_at = now;
      lease.deadline = now + ttl;
      lease.attempts = shard.attempts + 1;
      lease.confirm = std::move(shard.indices);
      lease.avoid = shard.avoid;
      const double cap = scan.scan.profile().rate();
      lease.rate = cap > 0 ? cap / static_cast<double>(std::max<size_t>(1, workers_.size())) : 0;
      const std::string lease_id = absl::StrCat("l-", RandomHex(8));
      v1::LeaseShardResponse resp;
      v1::Shard* out = resp.mutable_shard();
      out->set_lease_id(lease_id);
      out->set_scan_id(scan_id);
      *out->mutable_targets() = scan.scan.targets();
      *out->mutable_profile() = scan.scan.profile();
      out->mutable_profile()->set_rate(lease.rate);
      out->mutable_slice()->set_seed(scan.scan.seed());
      for (uint64_t i : lease.confirm) out->add_confirm_indices(i);
      out->set_lease_deadline_unix_ms(absl::ToUnixMillis(lease.deadline));
      MakeLogger("coordinator")
          ->info("confirmation lease scan={} lease={} indices={} worker={} avoided={}", scan_id,
                 lease_id, lease.confirm.size(), worker_id,
                 lease.avoid.empty() ? "-" : lease.avoid);
      scan.leases[lease_id] = std::move(lease);
      lease_scan_[lease_id] = scan_id;
      events_->LeaseGranted();
      Changed();
      return std::optional<v1::LeaseShardResponse>(std::move(resp));
    }
  }
  return std::optional<v1::LeaseShardResponse>();
}

absl::Status ScanManager::CheckCanaries(LiveScan& scan, const ExposureMap& open) {
  scan.scan.clear_canaries();
  if (config_.canaries.empty()) return absl::OkStatus();
  RETURN_IF_ERROR(EnsureSpace(scan));
  for (const CanaryConfig& c : config_.canaries) {
    v1::CanaryResult* r = scan.scan.add_canaries();
    r->set_ip(c.address);
    r->set_port(c.port);
    r->set_transport(c.protocol == "udp" ? v1::TRANSPORT_UDP : v1::TRANSPORT_TCP);
    r->set_expected(c.expect == "closed" ? v1::PROBE_STATE_CLOSED : v1::PROBE_STATE_OPEN);
    const std::optional<IpAddress> ip = IpAddress::Parse(c.address);
    const bool udp = r->transport() == v1::TRANSPORT_UDP;
    // A canary outside the scan's pairs (its address, its port, or a UDP
    // port of a service the profile does not probe) is "not probed".
    if (!ip || !scan.space->IndexOf({*ip, static_cast<uint16_t>(c.port),
                                     udp ? probes::Transport::kUdp : probes::Transport::kTcp})) {
      continue;
    }
    // The store keeps open findings only: no finding = not seen open.
    const bool seen_open =
        open.count(ExposureKey(ip->ToString(), c.port, udp ? kExposureUdp : kExposureTcp)) > 0;
    r->set_seen(seen_open ? v1::PROBE_STATE_OPEN : v1::PROBE_STATE_CLOSED);
    r->set_missed(r->seen() != r->expected());
  }
  return absl::OkStatus();
}

void ScanManager::Tick() {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_.Now();
  auto log = MakeLogger("coordinator");
  std::vector<std::string> failed;
  for (auto& [id, scan] : live_) {
    for (auto it = scan.leases.begin(); it != scan.leases.end();) {
      if (it->second.deadline > now) {
        ++it;
        continue;
      }
      const Lease& l = it->second;
      log->warn("lease expired scan={} begin={} end={} worker={} attempts={}", id, l.begin, l.end,
                l.worker_id, l.attempts);
      events_->LeaseExpired();
      if (l.attempts >= kMaxShardAttempts) {
        failed.push_back(id);
      } else if (!l.confirm.empty()) {
        scan.confirm_pending.push_back({l.confirm, l.avoid, now - ConfirmWait(), l.attempts});
      } else if (absl::Status s = store_.ReleaseShard(id, l.begin, l.attempts); !s.ok()) {
        log->error("cannot release shard scan={} begin={}: {}", id, l.begin, s.message());
        ++it;
        continue;
      } else {
        scan.pending.push_back({l.begin, l.end, l.attempts});
      }
      const std::string worker_id = l.worker_id;
      lease_scan_.erase(it->first);
      it = scan.leases.erase(it);
      LeaseEnded(scan, worker_id);
      Changed();
    }
    // Reservations of capped scans that their workers did not take up.
    bool lapsed = false;
    for (auto share = scan.shares.begin(); share != scan.shares.end();) {
      if (share->second.reserved_until <= now && !HoldsLease(scan, share->first)) {
        share = scan.shares.erase(share);
        lapsed = true;
      } else {
        ++share;
      }
    }
    if (lapsed && Rebalance(scan)) Changed();
  }
  for (const std::string& id : failed) {
    auto it = live_.find(id);
    if (it == live_.end()) continue;
    FailScan(it->second, absl::StrCat("a shard's lease expired ", kMaxShardAttempts, " times"))
        .IgnoreError();
  }
  const absl::Duration silent = absl::Seconds(3 * config_.lease.ttl_seconds);
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (now - it->second.last_seen > silent) {
      log->info("worker left id={} name={}", it->first, it->second.name);
      if (absl::Status s = store_.DeleteWorker(it->first); !s.ok()) {
        log->error("cannot forget worker id={}: {}", it->first, s.message());
      }
      it = workers_.erase(it);
      Changed();
    } else {
      ++it;
    }
  }
}

absl::StatusOr<std::vector<ReportRow>> ScanManager::DueReports(uint32_t limit) {
  absl::MutexLock lock(&mu_);
  Durable(store_.Commit());  // only reports of durably ended scans go out
  return store_.DueReports(NowMs(), limit);
}

absl::StatusOr<std::vector<v1::Exposure>> ScanManager::ReportExposures(const std::string& scan_id,
                                                                       uint64_t offset,
                                                                       uint32_t limit) {
  absl::MutexLock lock(&mu_);
  return store_.ReportExposures(scan_id, offset, limit);
}

absl::Status ScanManager::ReportDelivered(const std::string& scan_id) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(store_.MarkReportDelivered(scan_id, NowMs()));
  RETURN_IF_ERROR(CommitNow());
  return absl::OkStatus();
}

absl::Status ScanManager::ReportFailed(const std::string& scan_id, uint32_t attempts,
                                       absl::Time next_attempt, const std::string& error) {
  absl::MutexLock lock(&mu_);
  return store_.MarkReportFailed(scan_id, attempts, absl::ToUnixMillis(next_attempt), error);
}

absl::StatusOr<std::map<std::string, std::pair<int64_t, int64_t>>> ScanManager::ScheduleRuns() {
  absl::MutexLock lock(&mu_);
  return store_.LoadScheduleRuns();
}

absl::Status ScanManager::SaveScheduleRun(const std::string& name, absl::Time last_fire,
                                          absl::Time first_seen) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(
      store_.SaveScheduleRun(name, absl::ToUnixMillis(last_fire), absl::ToUnixMillis(first_seen)));
  RETURN_IF_ERROR(CommitNow());
  return absl::OkStatus();
}

ManagerStats ScanManager::Stats() {
  absl::MutexLock lock(&mu_);
  ManagerStats s;
  if (auto counts = store_.CountScansByState(); counts.ok()) s.scans_by_state = *counts;
  for (const auto& [id, scan] : live_) {
    s.shards_pending += scan.pending.size() + scan.confirm_pending.size();
    for (const PendingShard& p : scan.pending) s.probes_pending += p.end - p.begin;
    const uint64_t uncut =
        scan.scan.probes_total() - std::min(scan.scan.probes_total(), scan.next_index);
    if (uncut > 0) {
      const uint64_t size = std::max<uint64_t>(1, ShardSize(scan, 0));
      s.shards_pending += (uncut + size - 1) / size;
      s.probes_pending += uncut;
    }
    s.shards_leased += scan.leases.size();
    s.shards_done += scan.scan.shards_done();
  }
  s.probes_done_total = probes_done_total_;
  s.workers = workers_.size();
  s.findings_total = findings_total_;
  if (auto n = store_.CountPendingReports(); n.ok()) s.reports_pending = *n;
  if (auto ms = store_.OldestPendingReportMs(); ms.ok() && *ms > 0) {
    s.oldest_pending_report = absl::FromUnixMillis(*ms);
  }
  return s;
}

}  // namespace goalkeeper
