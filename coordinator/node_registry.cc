#include "coordinator/node_registry.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;

// "'x y'" with bytes outside printable ASCII escaped, cut to 80 characters:
// a bad value is named without echoing a megabyte or control bytes.
std::string Quote(const std::string& v) {
  std::string out = "'";
  for (size_t i = 0; i < v.size() && i < 80; ++i) {
    const unsigned char c = static_cast<unsigned char>(v[i]);
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "\\x", absl::Hex(c, absl::kZeroPad2));
    }
  }
  if (v.size() > 80) absl::StrAppend(&out, "...");
  return out + "'";
}

bool AllOf(const std::string& v, absl::string_view extra) {
  return std::all_of(v.begin(), v.end(), [extra](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
           extra.find(c) != absl::string_view::npos;
  });
}

absl::Status Bad(const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

// A non-empty string of at most `max` bytes of letters, digits and `extra`.
absl::Status CheckToken(const std::string& field, const std::string& v, size_t max,
                        absl::string_view extra) {
  if (v.empty()) return Bad(field, "must not be empty");
  if (v.size() > max || !AllOf(v, extra)) {
    return Bad(field, absl::StrCat(Quote(v), " (", v.size(), " bytes) must be 1-", max,
                                   " bytes of letters, digits and '", extra, "'"));
  }
  return absl::OkStatus();
}

absl::Status CheckListener(const std::string& field, const v1::Listener& l,
                           const NodeLimits& limits) {
  if (l.protocol() != "tcp" && l.protocol() != "udp") {
    return Bad(field + ".protocol", absl::StrCat(Quote(l.protocol()), " is not tcp or udp"));
  }
  RETURN_IF_ERROR(CheckToken(field + ".address", l.address(), limits.max_address, ".:"));
  if (l.port() < 1 || l.port() > 65535) {
    return Bad(field + ".port", absl::StrCat(l.port(), " is not a port (1-65535)"));
  }
  return absl::OkStatus();
}

absl::Status CheckBruteForce(const std::string& field, const v1::BruteForceSource& b,
                             const NodeLimits& limits) {
  RETURN_IF_ERROR(CheckToken(field + ".rule", b.rule(), limits.max_rule, "._-"));
  RETURN_IF_ERROR(CheckToken(field + ".source", b.source(), limits.max_address, ".:/"));
  if (b.hits_in_window() == 0) return Bad(field + ".hits_in_window", "must be at least 1");
  if (b.first_seen_unix_ms() > b.last_seen_unix_ms()) {
    return Bad(field + ".first_seen_unix_ms",
               absl::StrCat(b.first_seen_unix_ms(), " is after last_seen_unix_ms ",
                            b.last_seen_unix_ms()));
  }
  if (static_cast<size_t>(b.ports_size()) > limits.max_ports) {
    return Bad(field + ".ports",
               absl::StrCat(b.ports_size(), " ports, at most ", limits.max_ports));
  }
  for (int i = 0; i < b.ports_size(); ++i) {
    const std::string pf = absl::StrCat(field, ".ports[", i, "]");
    RETURN_IF_ERROR(CheckToken(pf + ".protocol", b.ports(i).protocol(), limits.max_protocol, "-"));
    if (b.ports(i).has_port() && (b.ports(i).port() < 1 || b.ports(i).port() > 65535)) {
      return Bad(pf + ".port", absl::StrCat(b.ports(i).port(), " is not a port (1-65535)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status NodeRegistry::Validate(const v1::NodeReport& report, const NodeLimits& limits) {
  RETURN_IF_ERROR(CheckToken("node", report.node(), limits.max_node_name, "._-"));
  const std::string& version = report.agent_version();
  if (version.size() > limits.max_agent_version ||
      !std::all_of(version.begin(), version.end(), [](char c) { return c >= 0x20 && c < 0x7f; })) {
    return Bad("agent_version",
               absl::StrCat(Quote(report.agent_version()), " (", report.agent_version().size(),
                            " bytes) must be at most ", limits.max_agent_version,
                            " bytes of printable ASCII"));
  }
  if (report.heartbeat_seconds() < 1 || report.heartbeat_seconds() > limits.max_heartbeat_seconds) {
    return Bad("heartbeat_seconds", absl::StrCat(report.heartbeat_seconds(), " is not 1..",
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
    RETURN_IF_ERROR(CheckToken(field + ".id", f.id(), limits.max_id, "._:-"));
    if (!ids.insert(f.id()).second) {
      return Bad(field + ".id", absl::StrCat(Quote(f.id()), " is given twice in the report"));
    }
    switch (f.kind_case()) {
      case v1::NodeFinding::kBruteForce:
        RETURN_IF_ERROR(CheckBruteForce(field + ".brute_force", f.brute_force(), limits));
        break;
      case v1::NodeFinding::kListenerAppeared:
        RETURN_IF_ERROR(CheckListener(field + ".listener_appeared", f.listener_appeared(), limits));
        break;
      case v1::NodeFinding::kListenerGone:
        RETURN_IF_ERROR(CheckListener(field + ".listener_gone", f.listener_gone(), limits));
        break;
      case v1::NodeFinding::kAgentSilent:
      case v1::NodeFinding::kAgentReturned:
        return Bad(field,
                   absl::StrCat(NodeFindingKindName(static_cast<NodeFindingKind>(f.kind_case())),
                                " is raised by the coordinator, never reported"));
      case v1::NodeFinding::KIND_NOT_SET:
        return Bad(field, "has no kind (brute_force, listener_appeared or listener_gone)");
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

absl::StatusOr<v1::NodeReportAck> NodeRegistry::Report(const v1::NodeReport& report) {
  RETURN_IF_ERROR(Validate(report, limits_));
  absl::MutexLock lock(&mu_);
  const int64_t now_ms = absl::ToUnixMillis(clock_.Now());
  NodeRow row;
  auto it = nodes_.find(report.node());
  if (it != nodes_.end()) {
    row = it->second;
  } else {
    row.name = report.node();
    row.first_seen_ms = now_ms;
  }
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
