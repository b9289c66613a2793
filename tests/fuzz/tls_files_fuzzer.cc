// Fuzzes what common/tls.h reads from files a Secret mounts: CheckTlsFiles
// (the CA bundle, the certificate and the key, PEM through OpenSSL) and
// ReadTokenFile (a bearer token).
//
// Input: the first byte picks which file gets the rest of the input (0: the
// CA, 1: the certificate, 2: the key, 3: the token file); the other files
// hold a valid development CA, certificate and key made once per process
// (openssl CLI), so the fuzzed file is the one that decides. Checks: no
// crash or leak; an error is one line of InvalidArgument naming the file; a
// token read is printable ASCII without whitespace, and is the input's first
// line stripped (a refused token's error names the file).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/tls.h"
#include "tests/fuzz/fuzz_check.h"

namespace goalkeeper {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteAll(const std::string& path, absl::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

struct Material {
  std::string dir, ca, cert, key;
};

const Material& Good() {
  static const Material* m = [] {
    auto* out = new Material;
    out->dir = "/tmp/tls-files-fuzzer-" + std::to_string(getpid());
    const std::string cmd =
        "mkdir -p " + out->dir + " && cd " + out->dir +
        " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2"
        " -subj /CN=fuzz -keyout key.pem -out cert.pem >/dev/null 2>&1";
    FUZZ_CHECK(std::system(cmd.c_str()) == 0);
    out->cert = ReadAll(out->dir + "/cert.pem");
    out->key = ReadAll(out->dir + "/key.pem");
    out->ca = out->cert;  // self-signed: its own CA
    return out;
  }();
  return *m;
}

}  // namespace
}  // namespace goalkeeper

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace goalkeeper;
  if (size == 0) return 0;
  const Material& good = Good();
  const int which = data[0] & 3;
  const absl::string_view input = FuzzText(data + 1, size - 1);
  const std::string ca = good.dir + "/ca.crt", cert = good.dir + "/tls.crt",
                    key = good.dir + "/tls.key", token = good.dir + "/token";
  WriteAll(ca, which == 0 ? input : absl::string_view(good.ca));
  WriteAll(cert, which == 1 ? input : absl::string_view(good.cert));
  WriteAll(key, which == 2 ? input : absl::string_view(good.key));
  if (which == 3) {
    WriteAll(token, input);
    absl::StatusOr<std::string> t = ReadTokenFile(token);
    if (t.ok()) {
      FUZZ_CHECK(!t->empty());
      for (char c : *t) FUZZ_CHECK(c > 0x20 && c < 0x7f);
      const absl::string_view first_line = input.substr(0, input.find('\n'));
      FUZZ_CHECK(absl::StripAsciiWhitespace(first_line) == *t);
    } else {
      FUZZ_CHECK(absl::StrContains(t.status().message(), token));
    }
    return 0;
  }
  TlsConfig tls;
  tls.ca_file = ca;
  tls.cert_file = cert;
  tls.key_file = key;
  const absl::Status s = CheckTlsFiles(tls);
  if (!s.ok()) {
    FUZZ_CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(absl::StrContains(s.message(), good.dir));
    FUZZ_CHECK(s.message().find('\n') == absl::string_view::npos);
  }
  return 0;
}
