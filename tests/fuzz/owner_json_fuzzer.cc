// Fuzzes the owner-API JSON parsers: OpenStackClient::BuildIndex and
// PublicAddresses, and FleioClient's three lookups, against a fake
// HttpClient that answers every request with the input as its body.
//
// The first byte picks the status of GET answers (200 mostly; 401, 404, 429,
// 500) and whether a Retry-After header is sent; Keystone's POST is answered
// 201 with an X-Subject-Token, so one document holding "token", "floatingips",
// "networks", "ports", "routers", "projects" and "objects" reaches every
// parser. Runs through a RetryingHttpClient with a no-op sleep.
//
// Checks: no crash, hang or exception; a successful index names a project
// for every address; errors carry a message and never the password or the
// tokens (unless the input itself holds them).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/http_client.h"
#include "owner_apis/fleio_client.h"
#include "owner_apis/openstack_client.h"
#include "tests/fuzz/fuzz_check.h"

namespace goalkeeper {
namespace {

constexpr char kPassword[] = "fuzz-password-0b5e";
constexpr char kToken[] = "fuzz-subject-token-77c1";
constexpr char kFleioToken[] = "fuzz-fleio-token-3d9a";
constexpr int kStatuses[8] = {200, 200, 200, 200, 401, 404, 429, 500};

class FuzzHttpClient : public HttpClient {
 public:
  FuzzHttpClient(int status, bool retry_after, std::string body)
      : status_(status), retry_after_(retry_after), body_(std::move(body)) {}

  absl::StatusOr<HttpResponse> Send(const HttpRequest& req) override {
    // The clients bound their own requests; this catches a loop that does not.
    FUZZ_CHECK(++requests_ < 2000);
    HttpResponse resp;
    resp.status = req.method == "POST" ? 201 : status_;
    resp.headers.push_back({"X-Subject-Token", kToken});
    if (retry_after_) resp.headers.push_back({"Retry-After", body_.substr(0, 12)});
    resp.body = body_;
    return resp;
  }

 private:
  int status_;
  bool retry_after_;
  std::string body_;
  int requests_ = 0;
};

void CheckError(const absl::Status& status, bool input_has_secret) {
  FUZZ_CHECK(!status.ok());
  FUZZ_CHECK(!status.message().empty());
  if (input_has_secret) return;
  FUZZ_CHECK(!absl::StrContains(status.message(), kPassword));
  FUZZ_CHECK(!absl::StrContains(status.message(), kToken));
  FUZZ_CHECK(!absl::StrContains(status.message(), kFleioToken));
}

void Run(const uint8_t* data, size_t size) {
  if (size == 0) return;
  const int status = kStatuses[data[0] & 7];
  const bool retry_after = (data[0] & 8) != 0;
  std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  const bool has_secret = absl::StrContains(body, "fuzz-");

  FuzzHttpClient fake(status, retry_after, body);
  RetryPolicy policy;
  policy.max_attempts = 2;
  RetryingHttpClient http(fake, policy, [](absl::Duration) {});
  FakeClock clock(absl::FromUnixSeconds(1700000000));

  OpenStackConfig os_config;
  os_config.auth_url = "https://keystone.invalid:5000";
  os_config.username = "goalkeeper";
  os_config.password = kPassword;
  os_config.project_name = "admin";
  os_config.region = (data[0] & 16) != 0 ? "RegionOne" : "";
  OpenStackClient os(os_config, http, clock);
  absl::StatusOr<OpenStackIndex> index = os.BuildIndex();
  if (index.ok()) {
    for (const auto& [ip, owner] : index->by_ip) {
      FUZZ_CHECK(!ip.empty());
      FUZZ_CHECK(!owner.project_id.empty());
    }
  } else {
    CheckError(index.status(), has_secret);
  }
  clock.Set(absl::FromUnixSeconds(1700000000) + absl::Hours(24 * 365));
  absl::StatusOr<std::vector<std::string>> ips = os.PublicAddresses();
  if (ips.ok()) {
    for (const std::string& ip : *ips) FUZZ_CHECK(!ip.empty());
  } else {
    CheckError(ips.status(), has_secret);
  }
  FUZZ_CHECK(os.calls() < 2000);

  FleioClient fleio({.url = "https://fleio.invalid", .token = kFleioToken}, http);
  absl::StatusOr<std::map<std::string, std::string>> fips = fleio.FloatingIpClients();
  if (fips.ok()) {
    for (const auto& [ip, client] : *fips) FUZZ_CHECK(!ip.empty() && !client.empty());
  } else {
    CheckError(fips.status(), has_secret);
  }
  absl::StatusOr<std::optional<std::string>> project =
      fleio.ClientForProject("a1c3e2b4d5f60718293a4b5c6d7e8f90");
  if (project.ok()) {
    FUZZ_CHECK(!project->has_value() || !(*project)->empty());
  } else {
    CheckError(project.status(), has_secret);
  }
  absl::StatusOr<FleioCustomer> customer = fleio.Client("101");
  if (customer.ok()) {
    FUZZ_CHECK(!customer->id.empty());
    // Cached: a second lookup makes no request.
    const int calls = fleio.calls();
    FUZZ_CHECK(fleio.Client("101").ok());
    FUZZ_CHECK(fleio.calls() == calls);
  } else {
    CheckError(customer.status(), has_secret);
  }
}

}  // namespace
}  // namespace goalkeeper

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  goalkeeper::Run(data, size);
  return 0;
}
