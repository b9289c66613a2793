#include "notifier/node_finding_render.h"

#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "notifier/telegram.h"
#include "notifier/telegram_summary.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;

using Kind = v1::NodeFinding::KindCase;

// Kinds in the order the texts list them.
constexpr Kind kKinds[] = {v1::NodeFinding::kAgentSilent, v1::NodeFinding::kAgentReturned,
                           v1::NodeFinding::kBruteForce, v1::NodeFinding::kListenerAppeared,
                           v1::NodeFinding::kListenerGone};

std::string Plural(uint64_t n, absl::string_view one, absl::string_view many) {
  return absl::StrCat(n, " ", n == 1 ? one : many);
}

// "2 brute-force sources", "agent silent", ...
std::string CountText(Kind kind, uint64_t n) {
  switch (kind) {
    case v1::NodeFinding::kBruteForce:
      return Plural(n, "brute-force source", "brute-force sources");
    case v1::NodeFinding::kListenerAppeared:
      return Plural(n, "listener appeared", "listeners appeared");
    case v1::NodeFinding::kListenerGone:
      return Plural(n, "listener gone", "listeners gone");
    case v1::NodeFinding::kAgentSilent:
      return n == 1 ? "agent silent" : absl::StrCat("agent silent (", n, "x)");
    case v1::NodeFinding::kAgentReturned:
      return n == 1 ? "agent back" : absl::StrCat("agent back (", n, "x)");
    case v1::NodeFinding::KIND_NOT_SET:
      break;
  }
  return Plural(n, "finding", "findings");
}

std::string Counts(const std::map<Kind, uint64_t>& by_kind) {
  std::vector<std::string> parts;
  for (Kind k : kKinds) {
    auto it = by_kind.find(k);
    if (it != by_kind.end()) parts.push_back(CountText(k, it->second));
  }
  return absl::StrJoin(parts, ", ");
}

std::string PortText(const v1::ProtoPort& p) {
  return p.has_port() ? absl::StrCat(p.protocol(), "/", p.port()) : p.protocol();
}

void AppendBruteForce(std::string& out, const std::string& node, const v1::BruteForceSource& b) {
  std::vector<std::string> ports;
  for (const v1::ProtoPort& p : b.ports()) ports.push_back(PortText(p));
  const std::string port_list = ports.empty() ? "none recorded" : absl::StrJoin(ports, ", ");
  absl::StrAppend(&out, "* Brute-force source ", b.source(), " (rule ", b.rule(), ")\n",
                  "    Node: ", node, "\n", "    Rule: ", b.rule(), "\n",
                  "    Source: ", b.source(), "\n", "    Hits in window: ", b.hits_in_window(),
                  "\n", "    First seen: ", Rfc3339Utc(b.first_seen_unix_ms()), "\n",
                  "    Last seen: ", Rfc3339Utc(b.last_seen_unix_ms()), "\n",
                  "    Ports and protocols: ", port_list, "\n", "    What to do: block the source ",
                  b.source(),
                  " at the firewall (or the provider's security group) unless it is yours, and "
                  "check the service it tried (",
                  port_list,
                  "): whether it needs to be reachable at all, and its logs for a "
                  "successful login.\n");
}

void AppendListener(std::string& out, const std::string& node, const v1::Listener& l,
                    bool appeared) {
  absl::StrAppend(&out, "* Listener ", appeared ? "appeared" : "gone", ": ", l.protocol(), " ",
                  l.address(), " port ", l.port(), "\n", "    Node: ", node, "\n",
                  "    Protocol: ", l.protocol(), "\n", "    Address: ", l.address(), "\n",
                  "    Port: ", l.port(), "\n");
  if (appeared) {
    absl::StrAppend(&out,
                    "    What to do: if this service need not listen on a public or wildcard "
                    "address, bind it to a private address or stop it; if it must, allow port ",
                    l.port(), " for this node (listeners.allowed_ports).\n");
  } else {
    absl::StrAppend(&out, "    It no longer listens.\n");
  }
}

void AppendSilent(std::string& out, const std::string& node, const v1::AgentSilence& s) {
  absl::StrAppend(&out, "* Node agent silent\n", "    Node: ", node, "\n",
                  "    Last report: ", Rfc3339Utc(s.last_report_unix_ms()), "\n",
                  "    Silent since: ", Rfc3339Utc(s.silent_since_unix_ms()), " (no report for ",
                  s.silence_after_intervals(), " intervals of ", s.heartbeat_seconds(), " s)\n",
                  "    Its checks (the firewall log, the listening sockets) are not running: "
                  "nothing on this node is watched until the agent reports again. Check the "
                  "node agent's pod on this node.\n");
}

void AppendReturned(std::string& out, const std::string& node, const v1::AgentSilence& s) {
  absl::StrAppend(&out, "* Node agent back\n", "    Node: ", node, "\n",
                  "    Back since: ", Rfc3339Utc(s.returned_unix_ms()), "\n",
                  "    It was silent since ", Rfc3339Utc(s.silent_since_unix_ms()),
                  " (last report before: ", Rfc3339Utc(s.last_report_unix_ms()),
                  "); its checks run again.\n");
}

}  // namespace

std::string Rfc3339Utc(int64_t unix_ms) {
  if (unix_ms <= 0) return "unknown";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(unix_ms), absl::UTCTimeZone());
}

NodeFindingEmail RenderNodeFindingsEmail(const std::string& node,
                                         const std::vector<const v1::NodeFinding*>& findings,
                                         bool stage) {
  std::map<Kind, uint64_t> by_kind;
  for (const v1::NodeFinding* f : findings) ++by_kind[f->kind_case()];
  NodeFindingEmail m;
  m.subject =
      absl::StrCat(stage ? "[stage] " : "", "Goalkeeper node ", node, ": ", Counts(by_kind));
  std::string& body = m.body;
  absl::StrAppend(&body, "The node checks of ", node, " report:\n\n");
  for (const v1::NodeFinding* f : findings) {
    switch (f->kind_case()) {
      case v1::NodeFinding::kBruteForce:
        AppendBruteForce(body, node, f->brute_force());
        break;
      case v1::NodeFinding::kListenerAppeared:
        AppendListener(body, node, f->listener_appeared(), true);
        break;
      case v1::NodeFinding::kListenerGone:
        AppendListener(body, node, f->listener_gone(), false);
        break;
      case v1::NodeFinding::kAgentSilent:
        AppendSilent(body, node, f->agent_silent());
        break;
      case v1::NodeFinding::kAgentReturned:
        AppendReturned(body, node, f->agent_returned());
        break;
      case v1::NodeFinding::KIND_NOT_SET:
        absl::StrAppend(&body, "* A finding of no known kind\n");
        break;
    }
    absl::StrAppend(&body, "    Found: ", Rfc3339Utc(f->observed_unix_ms()), " (finding ", f->id(),
                    ")\n\n");
  }
  absl::StrAppend(&body,
                  "This message goes to the operators only (ops.emails); `goalkeeperctl nodes "
                  "list` shows every node.\n");
  return m;
}

std::vector<std::string> RenderNodeFindingsTelegram(const v1::NodeFindingBatch& batch,
                                                    const std::vector<size_t>& which, bool stage) {
  // Nodes in the order they first appear.
  std::vector<std::string> order;
  std::map<std::string, std::map<Kind, uint64_t>> by_node;
  for (size_t i : which) {
    const v1::NodeFindingDelivery& d = batch.findings(static_cast<int>(i));
    auto [it, fresh] = by_node.try_emplace(d.node());
    if (fresh) order.push_back(d.node());
    ++it->second[d.finding().kind_case()];
  }
  std::string text = absl::StrCat("<b>Goalkeeper", stage ? " [stage]" : "",
                                  "</b> node checks: ", Plural(which.size(), "finding", "findings"),
                                  " on ", Plural(order.size(), "node", "nodes"), "\n");
  for (size_t n = 0; n < order.size() && n < kNodeSummaryNodes; ++n) {
    absl::StrAppend(&text, "• ", EscapeTelegramHtml(order[n]), ": ",
                    EscapeTelegramHtml(Counts(by_node[order[n]])), "\n");
  }
  if (order.size() > kNodeSummaryNodes) {
    absl::StrAppend(&text, "… and ", order.size() - kNodeSummaryNodes, " more nodes\n");
  }
  std::vector<std::string> parts = SplitTelegramMessage(text);
  if (parts.size() > kMaxTelegramSummaryParts) parts.resize(kMaxTelegramSummaryParts);
  return parts;
}

}  // namespace goalkeeper
