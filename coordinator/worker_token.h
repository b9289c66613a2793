// Worker tokens: the secret a worker gets from RegisterWorker and sends with
// every later ShardService call. The coordinator keeps only the SHA-256 of a
// token (in memory and in the store), so a leaked database does not leak
// tokens, and compares digests in constant time.
//
//   std::string token = NewWorkerToken();          // 64 hex characters
//   std::string stored = HashWorkerToken(token);   // SHA-256, hex
//   bool ok = WorkerTokenMatches(presented, stored);
//
// Thread-safety: thread-safe (OpenSSL's generator is).
#ifndef GOALKEEPER_COORDINATOR_WORKER_TOKEN_H_
#define GOALKEEPER_COORDINATOR_WORKER_TOKEN_H_

#include <string>

#include "absl/strings/string_view.h"

namespace goalkeeper {

// 32 bytes from OpenSSL's CSPRNG, hex-encoded. Aborts if the generator fails
// (a coordinator that cannot make secrets must not hand out guessable ones).
std::string NewWorkerToken();
// The lowercase hex SHA-256 of `token`.
std::string HashWorkerToken(absl::string_view token);
// True when `token` is non-empty and hashes to `hash`.
bool WorkerTokenMatches(absl::string_view token, absl::string_view hash);

}  // namespace goalkeeper

#endif  // GOALKEEPER_COORDINATOR_WORKER_TOKEN_H_
