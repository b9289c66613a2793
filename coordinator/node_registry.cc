#include "coordinator/node_registry.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/node_finding_check.h"
#include "common/status_macros.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;

NodeFindingLimits FindingLimits(const NodeLimits& limits) {
  return {.max_rule = limits.max_rule,
          .max_address = limits.max_address,
          .max_protocol = limits.max_protocol,
          .max_ports = limits.max_ports};
}

}  // namespace

absl::Status NodeRegistry::Validate(const v1::NodeReport& report, const NodeLimits& limits) {
  RETURN_IF_ERROR(CheckFieldToken("node", report.node(), limits.max_node_name, "._-"));
  const std::string& version = report.agent_version();
  if (version.size() > limits.max_agent_version ||
      !std::all_of(version.begin(), version.end(), [](char c) { return c >= 0x20 && c < 0x7f; })) {
    return FieldError("agent_version",
                      absl::StrCat(QuoteFieldValue(report.agent_version()), " (",
                                   report.agent_version().size(), " bytes) must be at most ",
                                   limits.max_agent_version, " bytes of printable ASCII"));
  }
  if (report.heartbeat_seconds() < 1 || report.heartbeat_seconds() > limits.max_heartbeat_seconds) {
    return FieldError("heartbeat_seconds", absl::StrCat(report.heartbeat_seconds(), " is not 1..",
                                                        limits.max_heartbeat_seconds));
  }
  if (static_cast<size_t>(report.findings_size()) > limits.max_findings) {
    return absl::ResourceExhaustedError(
        absl::StrCat("findings: ", report.findings_size(), " in one report, at most ",
                     limits.max_findings, ": send them in several reports"));
  }
  std::set<std::string> ids;
  for (int i = 0; i < report.findings_size(); ++i) {
    const v1::NodeFinding& f = report.findings(i);
    const std::string field = absl::StrCat("findings[", i, "]");
    RETURN_IF_ERROR(CheckFieldToken(field + ".id", f.id(), limits.max_id, "._:-"));
    if (!ids.insert(f.id()).second) {
      return FieldError(field + ".id",
                        absl::StrCat(QuoteFieldValue(f.id()), " is given twice in the report"));
    }
    switch (f.kind_case()) {
      case v1::NodeFinding::kBruteForce:
        RETURN_IF_ERROR(
            CheckBruteForceSource(field + ".brute_force", f.brute_force(), FindingLimits(limits)));
        break;
      case v1::NodeFinding::kListenerAppeared:
        RETURN_IF_ERROR(CheckListener(field + ".listener_appeared", f.listener_appeared(),
                                      FindingLimits(limits)));
        break;
      case v1::NodeFinding::kListenerGone:
        RETURN_IF_ERROR(
            CheckListener(field + ".listener_gone", f.listener_gone(), FindingLimits(limits)));
        break;
      case v1::NodeFinding::kAgentSilent:
      case v1::NodeFinding::kAgentReturned:
        return FieldError(
            field, absl::StrCat(NodeFindingKindName(static_cast<NodeFindingKind>(f.kind_case())),
                                " is raised by the coordinator, never reported"));
      case v1::NodeFinding::KIND_NOT_SET:
        return FieldError(field, "has no kind (brute_force, listener_appeared or listener_gone)");
    }
  }
  return absl::OkStatus();
}

absl::Status NodeRegistry::Load() {
  ASSIGN_OR_RETURN(std::vector<NodeRow> rows, store_.LoadNodes());
  absl::MutexLock lock(&mu_);
  loaded_at_ = clock_.Now();
  nodes_.clear();
  for (NodeRow& row : rows) {
    std::string name = row.name;
    nodes_.emplace(std::move(name), std::move(row));
  }
  return absl::OkStatus();
}

absl::Time NodeRegistry::Deadline(const NodeRow& node) const {
  const absl::Time from = std::max(absl::FromUnixMillis(node.last_report_ms), loaded_at_);
  return from + absl::Seconds(int64_t{node.interval_seconds} * config_.silence_after_intervals);
}

absl::StatusOr<v1::NodeReportAck> NodeRegistry::Report(const v1::NodeReport& report,
                                                       const std::string& identity) {
  RETURN_IF_ERROR(Validate(report, limits_));
  absl::MutexLock lock(&mu_);
  const int64_t now_ms = absl::ToUnixMillis(clock_.Now());
  NodeRow row;
  auto it = nodes_.find(report.node());
  if (it != nodes_.end()) {
    row = it->second;
    if (!identity.empty() && !row.identity.empty() && row.identity != identity) {
      return absl::PermissionDeniedError(
          absl::StrCat("node ", row.name, " is reported by ", row.identity, ", not ", identity));
    }
  } else {
    row.name = report.node();
    row.first_seen_ms = now_ms;
  }
  if (row.identity.empty()) row.identity = identity;  // bound to its first identity
  std::vector<NodeFindingRow> findings;
  findings.reserve(static_cast<size_t>(report.findings_size()) + 1);
  if (row.silent) {
    NodeFindingRow& back = findings.emplace_back();
    back.node = row.name;
    back.received_ms = now_ms;
    back.finding.set_id(absl::StrCat("coordinator/returned/", row.last_report_ms));
    back.finding.set_observed_unix_ms(now_ms);
    v1::AgentSilence* s = back.finding.mutable_agent_returned();
    s->set_last_report_unix_ms(row.last_report_ms);
    s->set_silent_since_unix_ms(row.silent_since_ms);
    s->set_heartbeat_seconds(row.interval_seconds);
    s->set_silence_after_intervals(config_.silence_after_intervals);
    s->set_returned_unix_ms(now_ms);
  }
  for (const v1::NodeFinding& f : report.findings()) {
    NodeFindingRow& r = findings.emplace_back();
    r.node = row.name;
    r.finding = f;
    r.received_ms = now_ms;
  }
  row.agent_version = report.agent_version();
  row.last_report_ms = now_ms;
  row.interval_seconds = report.heartbeat_seconds();
  row.silent = false;
  row.silent_since_ms = 0;
  RETURN_IF_ERROR(store_.RecordReport(row, findings).status());
  nodes_[row.name] = row;
  v1::NodeReportAck ack;
  for (const v1::NodeFinding& f : report.findings()) ack.add_stored_ids(f.id());
  return ack;
}

absl::StatusOr<int> NodeRegistry::CheckSilence() {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_.Now();
  const int64_t now_ms = absl::ToUnixMillis(now);
  int raised = 0;
  for (auto& [name, node] : nodes_) {
    if (node.silent || now <= Deadline(node)) continue;
    NodeRow row = node;
    row.silent = true;
    row.silent_since_ms = now_ms;
    NodeFindingRow f;
    f.node = name;
    f.received_ms = now_ms;
    f.finding.set_id(absl::StrCat("coordinator/silent/", node.last_report_ms));
    f.finding.set_observed_unix_ms(now_ms);
    v1::AgentSilence* s = f.finding.mutable_agent_silent();
    s->set_last_report_unix_ms(node.last_report_ms);
    s->set_silent_since_unix_ms(now_ms);
    s->set_heartbeat_seconds(node.interval_seconds);
    s->set_silence_after_intervals(config_.silence_after_intervals);
    RETURN_IF_ERROR(store_.RecordReport(row, {f}).status());
    node = std::move(row);
    ++raised;
  }
  return raised;
}

absl::StatusOr<v1::ListNodesResponse> NodeRegistry::ListNodes() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(auto open, store_.CountUndelivered());
  v1::ListNodesResponse resp;
  for (const auto& [name, node] : nodes_) {
    v1::NodeInfo* n = resp.add_nodes();
    n->set_name(name);
    n->set_agent_version(node.agent_version);
    n->set_first_seen_unix_ms(node.first_seen_ms);
    n->set_last_report_unix_ms(node.last_report_ms);
    n->set_heartbeat_seconds(node.interval_seconds);
    n->set_silent(node.silent);
    n->set_silent_since_unix_ms(node.silent_since_ms);
    auto it = open.find(name);
    n->set_open_findings(it == open.end() ? 0 : it->second);
  }
  return resp;
}

std::vector<NodeGauge> NodeRegistry::Gauges() {
  absl::MutexLock lock(&mu_);
  std::vector<NodeGauge> out;
  out.reserve(nodes_.size());
  for (const auto& [name, node] : nodes_) {
    out.push_back({name, absl::FromUnixMillis(node.last_report_ms), node.silent});
  }
  return out;
}

absl::StatusOr<std::vector<NodeFindingRow>> NodeRegistry::Undelivered(uint32_t limit) {
  absl::MutexLock lock(&mu_);
  return store_.Undelivered(limit);
}

absl::Status NodeRegistry::MarkDelivered(const std::vector<NodeFindingRow>& findings) {
  absl::MutexLock lock(&mu_);
  return store_.MarkDelivered(findings, absl::ToUnixMillis(clock_.Now()));
}

absl::StatusOr<uint64_t> NodeRegistry::CountUndelivered() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(auto open, store_.CountUndelivered());
  uint64_t total = 0;
  for (const auto& [node, n] : open) total += n;
  return total;
}

}  // namespace goalkeeper
