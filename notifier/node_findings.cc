#include "notifier/node_findings.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <openssl/sha.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "common/node_finding_check.h"
#include "common/status_macros.h"
#include "notifier/node_finding_render.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;

NodeFindingLimits FindingLimits(const NodeFindingBounds& bounds) {
  return {.max_rule = bounds.max_rule,
          .max_address = bounds.max_address,
          .max_protocol = bounds.max_protocol,
          .max_ports = bounds.max_ports};
}

std::string Sha256Hex(const std::string& bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

}  // namespace

absl::Status ValidateNodeFindingBatch(const v1::NodeFindingBatch& batch,
                                      const NodeFindingBounds& bounds) {
  if (batch.findings_size() == 0) return FieldError("findings", "the batch is empty");
  if (static_cast<size_t>(batch.findings_size()) > bounds.max_findings) {
    return FieldError("findings", absl::StrCat(batch.findings_size(), " in one batch, at most ",
                                               bounds.max_findings));
  }
  std::set<std::pair<std::string, std::string>> keys;
  for (int i = 0; i < batch.findings_size(); ++i) {
    const v1::NodeFindingDelivery& d = batch.findings(i);
    const std::string field = absl::StrCat("findings[", i, "]");
    RETURN_IF_ERROR(CheckFieldToken(field + ".node", d.node(), bounds.max_node, "._-"));
    RETURN_IF_ERROR(CheckFieldToken(field + ".id", d.id(), bounds.max_id, "._:/-"));
    if (!d.finding().id().empty() && d.finding().id() != d.id()) {
      return FieldError(field + ".finding.id",
                        absl::StrCat(QuoteFieldValue(d.finding().id()), " differs from id ",
                                     QuoteFieldValue(d.id())));
    }
    if (!keys.insert({d.node(), d.id()}).second) {
      return FieldError(field + ".id",
                        absl::StrCat(QuoteFieldValue(d.id()), " of node ",
                                     QuoteFieldValue(d.node()), " is given twice in the batch"));
    }
    const v1::NodeFinding& f = d.finding();
    const std::string ff = field + ".finding";
    switch (f.kind_case()) {
      case v1::NodeFinding::kBruteForce:
        RETURN_IF_ERROR(
            CheckBruteForceSource(ff + ".brute_force", f.brute_force(), FindingLimits(bounds)));
        break;
      case v1::NodeFinding::kListenerAppeared:
        RETURN_IF_ERROR(
            CheckListener(ff + ".listener_appeared", f.listener_appeared(), FindingLimits(bounds)));
        break;
      case v1::NodeFinding::kListenerGone:
        RETURN_IF_ERROR(
            CheckListener(ff + ".listener_gone", f.listener_gone(), FindingLimits(bounds)));
        break;
      case v1::NodeFinding::kAgentSilent:
      case v1::NodeFinding::kAgentReturned:
        break;
      case v1::NodeFinding::KIND_NOT_SET:
        return FieldError(ff,
                          "has no kind (brute_force, listener_appeared, listener_gone, "
                          "agent_silent or agent_returned)");
    }
  }
  return absl::OkStatus();
}

std::string NodeFindingDigest(const v1::NodeFindingDelivery& delivery) {
  v1::NodeFinding canonical = delivery.finding();
  canonical.set_id(delivery.id());
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream raw(&bytes);
    google::protobuf::io::CodedOutputStream out(&raw);
    out.SetSerializationDeterministic(true);
    canonical.SerializeToCodedStream(&out);
  }
  return Sha256Hex(absl::StrCat(delivery.node(), "\n", bytes));
}

absl::StatusOr<v1::DeliverNodeFindingsResponse> NodeFindingReceiver::Receive(
    const v1::NodeFindingBatch& batch) {
  RETURN_IF_ERROR(ValidateNodeFindingBatch(batch));
  std::vector<StoredNodeFinding> rows;
  rows.reserve(static_cast<size_t>(batch.findings_size()));
  for (const v1::NodeFindingDelivery& d : batch.findings()) {
    rows.push_back({&d, NodeFindingDigest(d)});
  }
  const absl::Time now = clock_.Now();
  const bool stage = config_.mode == NotifierMode::kStage;
  auto log = MakeLogger("notifier");
  auto notify = [&](const std::vector<size_t>& fresh) {
    std::vector<OutboxItem> items;
    auto item = [&](std::string key, std::string scope, Channel channel) {
      OutboxItem it;
      it.key = std::move(key);
      it.scan_id = std::move(scope);
      it.channel = channel;
      it.created = now;
      it.next_attempt = now;
      return it;
    };
    // One email per node, its findings in the order received.
    std::vector<std::string> nodes;
    std::map<std::string, std::vector<size_t>> by_node;
    for (size_t i : fresh) {
      const std::string& node = batch.findings(static_cast<int>(i)).node();
      auto [it, added] = by_node.try_emplace(node);
      if (added) nodes.push_back(node);
      it->second.push_back(i);
    }
    for (const std::string& node : nodes) {
      const std::vector<size_t>& list = by_node[node];
      if (config_.ops_emails.empty()) {
        log->warn("node findings stored, not mailed: ops.emails is empty node={} findings={}", node,
                  list.size());
        continue;
      }
      std::vector<const v1::NodeFinding*> findings;
      for (size_t i : list) findings.push_back(&batch.findings(static_cast<int>(i)).finding());
      NodeFindingEmail mail = RenderNodeFindingsEmail(node, findings, stage);
      // The first fresh finding's id is fresh once: the key is too.
      OutboxItem it = item(
          absl::StrCat("email:node:", node, ":", batch.findings(static_cast<int>(list[0])).id()),
          absl::StrCat("node:", node), Channel::kEmail);
      it.to = config_.ops_emails;
      it.subject = std::move(mail.subject);
      it.body = std::move(mail.body);
      items.push_back(std::move(it));
    }
    const v1::NodeFindingDelivery& first = batch.findings(static_cast<int>(fresh[0]));
    const std::vector<std::string> parts = RenderNodeFindingsTelegram(batch, fresh, stage);
    for (size_t p = 0; p < parts.size(); ++p) {
      OutboxItem it = item(absl::StrCat("telegram:node:", first.node(), ":", first.id(), ":", p),
                           absl::StrCat("node:", first.node()), Channel::kTelegram);
      it.to = {config_.ops_telegram_chat_id};
      it.body = parts[p];
      items.push_back(std::move(it));
    }
    return items;
  };
  absl::StatusOr<NodeFindingsResult> result = store_.InsertNodeFindings(rows, notify, now);
  if (!result.ok()) {
    log->error("node findings refused count={}: {}", batch.findings_size(),
               result.status().message());
    return result.status();
  }
  v1::DeliverNodeFindingsResponse resp;
  resp.set_stored(static_cast<uint32_t>(result->fresh.size()));
  resp.set_duplicates(result->duplicates);
  std::set<std::string> nodes;
  for (const v1::NodeFindingDelivery& d : batch.findings()) nodes.insert(d.node());
  log->info("node findings received count={} stored={} duplicates={} queued={} nodes={}",
            batch.findings_size(), resp.stored(), resp.duplicates(), result->queued,
            absl::StrJoin(nodes, ","));
  return resp;
}

}  // namespace goalkeeper
