#include "coordinator/worker_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdlib>

#include "absl/strings/escaping.h"
#include "common/logging.h"

namespace goalkeeper {

std::string NewWorkerToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    MakeLogger("coordinator")->critical("cannot generate a worker token: RAND_bytes failed");
    std::abort();
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

std::string HashWorkerToken(absl::string_view token) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(token.data(), token.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    MakeLogger("coordinator")->critical("cannot hash a worker token: EVP_Digest failed");
    std::abort();
  }
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), size));
}

bool WorkerTokenMatches(absl::string_view token, absl::string_view hash) {
  if (token.empty()) return false;
  const std::string presented = HashWorkerToken(token);
  return presented.size() == hash.size() &&
         CRYPTO_memcmp(presented.data(), hash.data(), hash.size()) == 0;
}

}  // namespace goalkeeper
