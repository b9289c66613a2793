// The audit trail's gRPC edge, shared by the coordinator's and the notifier's
// adapters: ListAudit served from an Auditor, entries as protos, and who is
// calling (a seam so that tests can name the caller without TLS).
//
//   grpc::Status ListAudit(grpc::ServerContext*, const v1::ListAuditRequest* req,
//                          v1::ListAuditResponse* resp) override {
//     return ServeListAudit(audit_.auditor, *req, resp);
//   }
//
// Thread-safety: stateless functions (the Auditor is thread-safe).
#ifndef GOALKEEPER_COMMON_AUDIT_GRPC_H_
#define GOALKEEPER_COMMON_AUDIT_GRPC_H_

#include <grpcpp/grpcpp.h>

#include <functional>

#include "common/audit_log.h"
#include "common/caller.h"
#include "goalkeeper/v1/audit.pb.h"

namespace goalkeeper {

using CallerFn = std::function<Caller(const grpc::ServerContext&)>;

// What a service adapter needs to audit: where entries go (null = not
// audited) and who is calling (CallerOf; tests substitute their own).
struct AuditHooks {
  Auditor* auditor = nullptr;
  CallerFn caller_of = CallerOf;
};

// Records a refusal a handler made (INVALID_ARGUMENT, ALREADY_EXISTS,
// PERMISSION_DENIED, UNAUTHENTICATED, RESOURCE_EXHAUSTED; other codes and OK
// are not refusals and leave nothing): the caller, `method`, `target` and
// detail {"message": ...}. Returns `status`.
//   return AuditRefusal(audit_, *ctx, kDeliverReport, report->scan_id(), Store(*report, resp));
grpc::Status AuditRefusal(const AuditHooks& hooks, const grpc::ServerContext& ctx,
                          const std::string& method, const std::string& target,
                          grpc::Status status);

goalkeeper::v1::AuditEntry AuditEntryToProto(const AuditEntry& e);
AuditFilter AuditFilterFromProto(const goalkeeper::v1::ListAuditRequest& req);

// ListAudit: one page from `auditor`; INVALID_ARGUMENT naming a field out of
// bounds; UNIMPLEMENTED when the server keeps no audit trail (null).
grpc::Status ServeListAudit(Auditor* auditor, const goalkeeper::v1::ListAuditRequest& req,
                            goalkeeper::v1::ListAuditResponse* resp);

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_AUDIT_GRPC_H_
