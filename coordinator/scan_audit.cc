#include "coordinator/scan_audit.h"

#include <nlohmann/json.hpp>

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;

constexpr size_t kMaxString = 256;

std::string Cut(const std::string& s) { return s.substr(0, kMaxString); }

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

template <typename List>
void AddSpecs(nlohmann::json& detail, const char* name, const List& specs) {
  if (specs.empty()) return;
  nlohmann::json list = nlohmann::json::array();
  for (int i = 0; i < specs.size() && i < kAuditedSpecs; ++i) list.push_back(Cut(specs[i]));
  detail[name] = std::move(list);
  detail[std::string(name) + "_total"] = specs.size();
}

void AddOutcome(nlohmann::json& detail, const absl::Status& status) {
  if (!status.ok()) detail["message"] = Cut(std::string(status.message()));
}

AuditEntry Entry(const char* method, const absl::Status& status) {
  AuditEntry e;
  e.method = method;
  e.code = static_cast<int>(status.code());
  return e;
}

}  // namespace

AuditEntry StartScanAudit(const v1::StartScanRequest& req, const absl::StatusOr<v1::Scan>& scan,
                          const std::string& schedule) {
  AuditEntry e = Entry(kStartScanMethod, scan.status());
  nlohmann::json detail = nlohmann::json::object();
  if (!req.inventory().empty()) detail["inventory"] = Cut(req.inventory());
  AddSpecs(detail, "targets", req.targets().include());
  AddSpecs(detail, "exclude", req.targets().exclude());
  if (!req.ports().spec().empty()) detail["ports"] = Cut(req.ports().spec());
  if (!req.profile().empty()) detail["profile"] = Cut(req.profile());
  if (!schedule.empty()) detail["schedule"] = Cut(schedule);
  if (scan.ok()) {
    e.target = scan->id();
    detail["state"] = v1::ScanState_Name(scan->state());
    detail["probes"] = scan->probes_total();
    // What the profile resolved to, when the request named no ports.
    if (req.ports().spec().empty()) detail["ports"] = Cut(scan->profile().ports().spec());
  }
  AddOutcome(detail, scan.status());
  e.detail_json = Dump(detail);
  return e;
}

AuditEntry CancelScanAudit(const v1::CancelScanRequest& req, const absl::StatusOr<v1::Scan>& scan) {
  AuditEntry e = Entry(kCancelScanMethod, scan.status());
  e.target = Cut(req.id());
  nlohmann::json detail = nlohmann::json::object();
  if (scan.ok()) detail["state"] = v1::ScanState_Name(scan->state());
  AddOutcome(detail, scan.status());
  e.detail_json = Dump(detail);
  return e;
}

AuditEntry RegisterWorkerAudit(const v1::RegisterWorkerRequest& req,
                               const absl::StatusOr<v1::RegisterWorkerResponse>& resp) {
  AuditEntry e = Entry(kRegisterWorkerMethod, resp.status());
  e.target = Cut(resp.ok() ? resp->worker_id() : req.worker_id());
  nlohmann::json detail = {{"name", Cut(req.name())},
                           {"concurrency", req.concurrency()},
                           {"reregistration", !req.worker_token().empty()}};
  AddOutcome(detail, resp.status());
  e.detail_json = Dump(detail);
  return e;
}

AuditEntry WorkerRefusalAudit(const std::string& method, const std::string& worker_id,
                              const absl::Status& status) {
  AuditEntry e = Entry(method.c_str(), status);
  e.target = Cut(worker_id);
  nlohmann::json detail = nlohmann::json::object();
  AddOutcome(detail, status);
  e.detail_json = Dump(detail);
  return e;
}

}  // namespace goalkeeper
