#include "common/audit_grpc.h"

#include <nlohmann/json.hpp>

#include "common/grpc_status.h"

namespace goalkeeper {

namespace v1 = goalkeeper::v1;

grpc::Status AuditRefusal(const AuditHooks& hooks, const grpc::ServerContext& ctx,
                          const std::string& method, const std::string& target,
                          grpc::Status status) {
  using grpc::StatusCode;
  const StatusCode c = status.error_code();
  if (hooks.auditor == nullptr ||
      (c != StatusCode::INVALID_ARGUMENT && c != StatusCode::ALREADY_EXISTS &&
       c != StatusCode::PERMISSION_DENIED && c != StatusCode::UNAUTHENTICATED &&
       c != StatusCode::RESOURCE_EXHAUSTED)) {
    return status;
  }
  const Caller caller = hooks.caller_of(ctx);
  AuditEntry e;
  e.identity = caller.identity;
  e.role = std::string(RoleName(caller.role));
  e.method = method;
  e.code = static_cast<int>(c);
  e.target = target.substr(0, 256);
  nlohmann::json detail = {{"message", status.error_message().substr(0, 1024)}};
  e.detail_json = detail.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  hooks.auditor->Record(std::move(e));
  return status;
}

v1::AuditEntry AuditEntryToProto(const AuditEntry& e) {
  v1::AuditEntry p;
  p.set_id(e.id);
  p.set_at_unix_ms(e.at_unix_ms);
  p.set_identity(e.identity);
  p.set_role(e.role);
  p.set_method(e.method);
  p.set_code(e.code);
  p.set_target(e.target);
  p.set_detail_json(e.detail_json);
  p.set_repeated(e.repeated);
  return p;
}

AuditFilter AuditFilterFromProto(const v1::ListAuditRequest& req) {
  AuditFilter f;
  f.since_unix_ms = req.since_unix_ms();
  f.identity = req.identity();
  f.method = req.method();
  f.limit = req.limit();
  f.page_token = req.page_token();
  return f;
}

grpc::Status ServeListAudit(Auditor* auditor, const v1::ListAuditRequest& req,
                            v1::ListAuditResponse* resp) {
  if (auditor == nullptr) {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "this server keeps no audit trail");
  }
  absl::StatusOr<AuditPage> page = auditor->List(AuditFilterFromProto(req));
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const AuditEntry& e : page->entries) *resp->add_entries() = AuditEntryToProto(e);
  resp->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

}  // namespace goalkeeper
