// OpenStackClient and FleioClient against the local fake of Keystone,
// Neutron and Fleio (tests/fakes/owner_apis.py, a real process on
// 127.0.0.1) serving tests/fixtures/owner_apis/. Calls are counted both by
// the clients and by the fake (GET /_stats). No sleeps: retries use a fake
// sleep, token expiry a FakeClock.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/http_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "owner_apis/fleio_client.h"
#include "owner_apis/openstack_client.h"
#include "tests/testing/curl_environment.h"
#include "tests/testing/subprocess.h"

namespace goalkeeper {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// The fixtures' people and projects (tests/fixtures/owner_apis/README.md).
constexpr char kUser[] = "goalkeeper";
constexpr char kPassword[] = "keystone-fixture-pw";
constexpr char kFleioToken[] = "0123456789abcdef0123456789abcdef01234567";
constexpr char kAcme[] = "a1c3e2b4d5f60718293a4b5c6d7e8f90";
constexpr char kJane[] = "b2d4f6a8c0e1325476980badcfe1a2b3";
constexpr char kCobalt[] = "c3e5a7b9d1f2436587a9cbedf0a1b2c4";
constexpr char kOrphan[] = "d4f6b8cad2e3547698bad0fe1a2b3c4d";

// Listing sizes in the fixtures (Neutron pages: a full page has a next link).
constexpr int kFloatingIps = 7;
constexpr int kExternalNetworks = 2;
constexpr int kExternalPorts = 11;
constexpr int kRouters = 3;
constexpr int kFleioFloatingIps = 7;

RetryPolicy Attempts(int n) {
  RetryPolicy p;
  p.max_attempts = n;
  return p;
}

int NeutronPages(int items, int page_size) { return items / page_size + 1; }

// The fake as a child process; port picked by the kernel.
class Fake {
 public:
  explicit Fake(std::vector<std::string> args = {}) : proc_(Start(std::move(args))) {
    const std::string out = proc_.ReadStdoutUntil("\n", std::chrono::seconds(20));
    absl::string_view line = absl::StripAsciiWhitespace(out);
    if (!absl::ConsumePrefix(&line, "listening ") || !absl::SimpleAtoi(line, &port_)) {
      ADD_FAILURE() << "fake did not start: " << out << proc_.err_so_far();
    }
  }
  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_); }

  void Control(const std::string& json) {
    HttpRequest req;
    req.method = "POST";
    req.url = url() + "/_control";
    req.body = json;
    absl::StatusOr<HttpResponse> resp = http_->Send(req);
    ASSERT_TRUE(resp.ok()) << resp.status();
    ASSERT_EQ(resp->status, 200) << resp->body;
  }
  nlohmann::json Stats() {
    absl::StatusOr<HttpResponse> resp = http_->Send(StatsRequest());
    if (!resp.ok() || resp->status != 200) {
      ADD_FAILURE() << "GET /_stats failed";
      return nlohmann::json::object();
    }
    return nlohmann::json::parse(resp->body);
  }
  int Total() { return Stats()["total"].get<int>(); }
  int Count(const std::string& path) {
    nlohmann::json paths = Stats()["paths"];
    return paths.contains(path) ? paths[path].get<int>() : 0;
  }
  HttpRequest StatsRequest() const {
    HttpRequest req;
    req.url = url() + "/_stats";
    return req;
  }
  std::vector<std::string> Tokens() { return Stats()["tokens"].get<std::vector<std::string>>(); }

 private:
  static testing::Subprocess Start(std::vector<std::string> args) {
    args.insert(args.begin(),
                {"/usr/bin/python3", GOALKEEPER_SOURCE_DIR "/tests/fakes/owner_apis.py"});
    return testing::Subprocess::Start(args);
  }
  testing::Subprocess proc_;
  int port_ = 0;
  std::unique_ptr<HttpClient> http_ = MakeCurlHttpClient({});
};

// Forces a request timeout (the clients use the default).
class TimeoutOverride : public HttpClient {
 public:
  TimeoutOverride(HttpClient& inner, absl::Duration timeout) : inner_(inner), timeout_(timeout) {}
  absl::StatusOr<HttpResponse> Send(const HttpRequest& req) override {
    HttpRequest r = req;
    r.timeout = timeout_;
    return inner_.Send(r);
  }

 private:
  HttpClient& inner_;
  absl::Duration timeout_;
};

class OwnerApisTest : public ::testing::Test {
 protected:
  OpenStackConfig OpenStack() const {
    OpenStackConfig c;
    c.auth_url = fake_.url();
    c.username = kUser;
    c.password = kPassword;
    c.project_name = "admin";
    c.region = "RegionOne";
    return c;
  }
  FleioConfig Fleio() const { return {.url = fake_.url(), .token = kFleioToken}; }

  // No message may carry the password, the Fleio token or an issued token.
  void ExpectNoSecrets(const absl::Status& status) {
    const std::string msg(status.message());
    EXPECT_THAT(msg, Not(HasSubstr(kPassword)));
    EXPECT_THAT(msg, Not(HasSubstr(kFleioToken)));
    for (const std::string& token : fake_.Tokens()) EXPECT_THAT(msg, Not(HasSubstr(token)));
  }

  Fake fake_;
  std::unique_ptr<HttpClient> curl_ = MakeCurlHttpClient({});
  std::vector<absl::Duration> sleeps_;
  RetryingHttpClient http_{*curl_, Attempts(3), [this](absl::Duration d) { sleeps_.push_back(d); }};
  const absl::Time start_ = absl::Now();
  FakeClock clock_{start_};
};

void ExpectOwner(const OpenStackIndex& index, const std::string& ip, const std::string& project,
                 const std::string& name, OpenStackSource source) {
  auto it = index.by_ip.find(ip);
  ASSERT_NE(it, index.by_ip.end()) << ip;
  EXPECT_EQ(it->second.project_id, project) << ip;
  EXPECT_EQ(it->second.project_name, name) << ip;
  EXPECT_EQ(it->second.source, source) << ip;
}

// ---- OpenStack -----------------------------------------------------------

TEST_F(OwnerApisTest, BuildIndexMapsFloatingIpsPortsAndRouterGateways) {
  OpenStackClient os(OpenStack(), http_, clock_);
  absl::StatusOr<OpenStackIndex> index = os.BuildIndex();
  ASSERT_TRUE(index.ok()) << index.status();
  const auto fip = OpenStackSource::kFloatingIp;
  ExpectOwner(*index, "203.0.113.10", kAcme, "Acme Hosting GmbH - 101", fip);
  ExpectOwner(*index, "203.0.113.11", kAcme, "Acme Hosting GmbH - 101", fip);  // unattached
  ExpectOwner(*index, "203.0.113.20", kJane, "Jane Doe - 102", fip);
  ExpectOwner(*index, "203.0.113.21", kJane, "Jane Doe - 102", fip);  // tenant_id only
  ExpectOwner(*index, "203.0.113.30", kCobalt, "Cobalt Networks - 103", fip);
  ExpectOwner(*index, "198.51.100.40", kCobalt, "Cobalt Networks - 103", fip);
  ExpectOwner(*index, "203.0.113.50", kOrphan, "internal-tools", fip);
  ExpectOwner(*index, "203.0.113.2", kAcme, "Acme Hosting GmbH - 101",
              OpenStackSource::kRouterGateway);
  ExpectOwner(*index, "198.51.100.2", kJane, "Jane Doe - 102", OpenStackSource::kRouterGateway);
  ExpectOwner(*index, "203.0.113.60", kCobalt, "Cobalt Networks - 103", OpenStackSource::kPort);
  ExpectOwner(*index, "2001:db8::60", kCobalt, "Cobalt Networks - 103", OpenStackSource::kPort);
  EXPECT_EQ(index->by_ip.size(), 11u);
  for (const char* absent : {"203.0.113.3",  // DHCP port, no owner
                             "192.0.2.10",   // private network
                             "203.0.113.99", "198.51.100.99"}) {
    EXPECT_EQ(index->by_ip.count(absent), 0u) << absent;
  }
}

TEST_F(OwnerApisTest, PublicAddressesListsEveryFloatingAndExternalPortAddress) {
  OpenStackClient os(OpenStack(), http_, clock_);
  absl::StatusOr<std::vector<std::string>> ips = os.PublicAddresses();
  ASSERT_TRUE(ips.ok()) << ips.status();
  EXPECT_THAT(*ips, ElementsAre("198.51.100.2", "198.51.100.40", "2001:db8::60", "203.0.113.10",
                                "203.0.113.11", "203.0.113.2", "203.0.113.20", "203.0.113.21",
                                "203.0.113.3", "203.0.113.30", "203.0.113.50", "203.0.113.60"));
  EXPECT_EQ(fake_.Count("/v3/projects"), 0);
}

TEST_F(OwnerApisTest, CallsGrowWithPagesNotAddresses) {
  absl::StatusOr<OpenStackIndex> unpaged;
  {
    OpenStackClient os(OpenStack(), http_, clock_);
    unpaged = os.BuildIndex();
    ASSERT_TRUE(unpaged.ok()) << unpaged.status();
    // auth, floatingips, networks, ports (every external network at once), routers, projects.
    EXPECT_EQ(os.calls(), 6);
    EXPECT_EQ(fake_.Total(), 6);
    EXPECT_EQ(fake_.Count("/v2.0/ports"), 1);
  }
  for (int page_size : {2, 3}) {
    fake_.Control(absl::StrCat(R"({"reset": true, "max_page_size": )", page_size, "}"));
    OpenStackClient os(OpenStack(), http_, clock_);
    absl::StatusOr<OpenStackIndex> index = os.BuildIndex();
    ASSERT_TRUE(index.ok()) << index.status();
    const int expected =
        1 + NeutronPages(kFloatingIps, page_size) + NeutronPages(kExternalNetworks, page_size) +
        NeutronPages(kExternalPorts, page_size) + NeutronPages(kRouters, page_size) + 1;
    EXPECT_EQ(expected, page_size == 2 ? 16 : 12);
    EXPECT_EQ(os.calls(), expected) << "page size " << page_size;
    EXPECT_EQ(fake_.Total(), expected) << "page size " << page_size;
    EXPECT_EQ(fake_.Count("/v2.0/ports"), NeutronPages(kExternalPorts, page_size));
    EXPECT_EQ(index->by_ip.size(), unpaged->by_ip.size());
    for (const auto& [ip, owner] : unpaged->by_ip) {
      ASSERT_EQ(index->by_ip.count(ip), 1u) << ip;
      EXPECT_EQ(index->by_ip.at(ip).project_id, owner.project_id) << ip;
    }
  }
}

TEST_F(OwnerApisTest, ReusesTheTokenUntilSixtySecondsBeforeExpiry) {
  OpenStackClient os(OpenStack(), http_, clock_);
  ASSERT_TRUE(os.BuildIndex().ok());
  EXPECT_EQ(fake_.Count("/v3/auth/tokens"), 1);
  // The fake's tokens live one hour (expires_at - issued_at); the client
  // counts that on its own clock.
  clock_.Set(start_ + absl::Hours(1) - absl::Seconds(61));
  ASSERT_TRUE(os.BuildIndex().ok());
  EXPECT_EQ(fake_.Count("/v3/auth/tokens"), 1);
  EXPECT_EQ(os.calls(), 6 + 5);
  // Less than 60 s before the expiry: a new token first ...
  const absl::Time second = start_ + absl::Hours(1) - absl::Seconds(59);
  clock_.Set(second);
  ASSERT_TRUE(os.BuildIndex().ok());
  EXPECT_EQ(fake_.Count("/v3/auth/tokens"), 2);
  // ... which is good for another hour although this clock is now an hour
  // ahead of the server's.
  ASSERT_TRUE(os.BuildIndex().ok());
  clock_.Set(second + absl::Hours(1) - absl::Seconds(61));
  ASSERT_TRUE(os.BuildIndex().ok());
  EXPECT_EQ(fake_.Count("/v3/auth/tokens"), 2);
  clock_.Set(second + absl::Hours(5));
  ASSERT_TRUE(os.BuildIndex().ok());
  EXPECT_EQ(fake_.Count("/v3/auth/tokens"), 3);
  EXPECT_EQ(os.calls(), 6 * 5 + 3);  // six reports, three tokens
}

TEST_F(OwnerApisTest, ReauthenticatesOnceWhenTheTokenIsRejected) {
  OpenStackClient os(OpenStack(), http_, clock_);
  ASSERT_TRUE(os.BuildIndex().ok());
  fake_.Control(R"({"expire_tokens": true})");
  const int before = os.calls();
  absl::StatusOr<OpenStackIndex> index = os.BuildIndex();
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(index->by_ip.size(), 11u);
  EXPECT_EQ(fake_.Count("/v3/auth/tokens"), 2);
  EXPECT_EQ(os.calls() - before, 5 + 2);  // the rejected request and the new token
  EXPECT_EQ(fake_.Count("/v2.0/floatingips"), 3);
}

TEST_F(OwnerApisTest, SecondUnauthorizedIsAnError) {
  fake_.Control(R"({"fail_next": [401, 401, 401], "fail_path": "/v2.0/floatingips"})");
  OpenStackClient os(OpenStack(), http_, clock_);
  absl::StatusOr<OpenStackIndex> index = os.BuildIndex();
  ASSERT_FALSE(index.ok());
  EXPECT_TRUE(absl::IsUnauthenticated(index.status())) << index.status();
  EXPECT_EQ(index.status().message(),
            "neutron floatingips: 401 Unauthorized after re-authenticating");
  EXPECT_EQ(fake_.Count("/v3/auth/tokens"), 2);
  EXPECT_EQ(fake_.Count("/v2.0/floatingips"), 2);
  ExpectNoSecrets(index.status());
}

TEST_F(OwnerApisTest, WrongPasswordIsUnauthenticatedWithoutThePassword) {
  OpenStackConfig config = OpenStack();
  config.password = "wrong-password-8d1e";
  OpenStackClient os(config, http_, clock_);
  absl::StatusOr<OpenStackIndex> index = os.BuildIndex();
  ASSERT_FALSE(index.ok());
  EXPECT_TRUE(absl::IsUnauthenticated(index.status())) << index.status();
  EXPECT_EQ(index.status().message(),
            "keystone: 401 Unauthorized (check the username and password)");
  EXPECT_THAT(std::string(index.status().message()), Not(HasSubstr("8d1e")));
  EXPECT_EQ(fake_.Count("/v3/auth/tokens"), 1);  // 401 is not retried
}

TEST_F(OwnerApisTest, ServerErrorsAreRetriedThenSucceed) {
  fake_.Control(R"({"fail_next": [500, 503], "fail_path": "/v2.0/"})");
  OpenStackClient os(OpenStack(), http_, clock_);
  absl::StatusOr<OpenStackIndex> index = os.BuildIndex();
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(index->by_ip.size(), 11u);
  EXPECT_EQ(os.calls(), 6);         // the client sees one request per call ...
  EXPECT_EQ(fake_.Total(), 6 + 2);  // ... the server two more
  EXPECT_EQ(fake_.Count("/v2.0/floatingips"), 3);
  EXPECT_EQ(sleeps_.size(), 2u);
}

TEST_F(OwnerApisTest, PersistentServerErrorFailsAfterMaxAttempts) {
  fake_.Control(R"({"fail_next": [500, 500, 500, 500, 500], "fail_path": "/v2.0/networks"})");
  OpenStackClient os(OpenStack(), http_, clock_);
  absl::StatusOr<OpenStackIndex> index = os.BuildIndex();
  ASSERT_FALSE(index.ok());
  EXPECT_TRUE(absl::IsUnavailable(index.status())) << index.status();
  EXPECT_EQ(index.status().message(), "neutron networks: HTTP 500");
  EXPECT_EQ(fake_.Count("/v2.0/networks"), 3);  // max_attempts
  ExpectNoSecrets(index.status());
}

TEST_F(OwnerApisTest, ClientErrorNamesTheStatus) {
  fake_.Control(R"({"fail_next": [403], "fail_path": "/v3/projects"})");
  OpenStackClient os(OpenStack(), http_, clock_);
  absl::StatusOr<OpenStackIndex> index = os.BuildIndex();
  ASSERT_FALSE(index.ok());
  EXPECT_TRUE(absl::IsPermissionDenied(index.status())) << index.status();
  EXPECT_EQ(index.status().message(), "keystone projects: HTTP 403");
}

TEST_F(OwnerApisTest, SlowAnswerIsDeadlineExceeded) {
  fake_.Control(R"({"slow_ms": 3000, "slow_path": "/v2.0/floatingips"})");
  TimeoutOverride short_timeout(*curl_, absl::Milliseconds(300));
  RetryingHttpClient http(short_timeout, Attempts(2), [](absl::Duration) {});
  OpenStackClient os(OpenStack(), http, clock_);
  absl::StatusOr<OpenStackIndex> index = os.BuildIndex();
  ASSERT_FALSE(index.ok());
  EXPECT_TRUE(absl::IsDeadlineExceeded(index.status())) << index.status();
  EXPECT_TRUE(absl::StartsWith(index.status().message(),
                               "neutron floatingips: " + fake_.url() + ": timed out"))
      << index.status();
  EXPECT_EQ(fake_.Count("/v2.0/floatingips"), 2);
  ExpectNoSecrets(index.status());
}

TEST_F(OwnerApisTest, MalformedJsonIsAClearError) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/v2.0/routers", "neutron routers: malformed JSON: "},
      {"/v2.0/floatingips", "neutron floatingips: malformed JSON: "},
      {"/v3/projects", "keystone projects: malformed JSON: "},
      {"/v3/auth/tokens", "keystone: malformed JSON: "},
  };
  for (const auto& [path, prefix] : cases) {
    fake_.Control(absl::StrCat(R"({"reset": true, "malformed": ")", path, R"("})"));
    OpenStackClient os(OpenStack(), http_, clock_);
    absl::StatusOr<OpenStackIndex> index = os.BuildIndex();
    ASSERT_FALSE(index.ok()) << path;
    EXPECT_TRUE(absl::StartsWith(index.status().message(), prefix)) << index.status();
    ExpectNoSecrets(index.status());
  }
}

TEST_F(OwnerApisTest, InterfaceAndRegionChooseTheEndpoint) {
  {
    OpenStackConfig config = OpenStack();
    config.region = "RegionTwo";
    OpenStackClient os(config, http_, clock_);
    ASSERT_TRUE(os.BuildIndex().ok());
    EXPECT_EQ(fake_.Count("/region-two/v2.0/floatingips"), 1);
    EXPECT_EQ(fake_.Count("/region-two/v3/projects"), 1);
    EXPECT_EQ(fake_.Count("/v2.0/floatingips"), 0);
  }
  {
    OpenStackConfig config = OpenStack();
    config.interface = "internal";
    OpenStackClient os(config, http_, clock_);
    ASSERT_TRUE(os.BuildIndex().ok());
    EXPECT_EQ(fake_.Count("/internal/v2.0/ports"), 1);
  }
  {
    OpenStackConfig config = OpenStack();
    config.region = "RegionThree";
    OpenStackClient os(config, http_, clock_);
    absl::StatusOr<OpenStackIndex> index = os.BuildIndex();
    ASSERT_FALSE(index.ok());
    EXPECT_EQ(index.status().message(),
              "keystone: the catalog has no network endpoint with interface 'public' in region "
              "'RegionThree'");
  }
}

// ---- Fleio ---------------------------------------------------------------

TEST_F(OwnerApisTest, FleioFloatingIpClientsFollowsPages) {
  const std::map<std::string, std::string> expected = {
      {"203.0.113.10", "101"}, {"203.0.113.11", "101"}, {"203.0.113.20", "102"},
      {"203.0.113.21", "102"}, {"203.0.113.30", "103"}, {"198.51.100.40", "103"}};
  for (int page_size : {0, 2, 3}) {
    fake_.Control(absl::StrCat(R"({"reset": true, "max_page_size": )", page_size, "}"));
    FleioClient fleio(Fleio(), http_);
    absl::StatusOr<std::map<std::string, std::string>> by_ip = fleio.FloatingIpClients();
    ASSERT_TRUE(by_ip.ok()) << by_ip.status();
    EXPECT_EQ(*by_ip, expected);  // 203.0.113.50 has no client
    const int pages = page_size == 0 ? 1 : (kFleioFloatingIps + page_size - 1) / page_size;
    EXPECT_EQ(fleio.calls(), pages) << "page size " << page_size;
    EXPECT_EQ(fake_.Count("/backend/staffapi/openstack/floatingips"), pages);
  }
}

TEST_F(OwnerApisTest, FleioStopsAtNotFoundPastTheLastPage) {
  fake_.Control(R"({"max_page_size": 2, "fleio_next_always": true})");
  FleioClient fleio(Fleio(), http_);
  absl::StatusOr<std::map<std::string, std::string>> by_ip = fleio.FloatingIpClients();
  ASSERT_TRUE(by_ip.ok()) << by_ip.status();
  EXPECT_EQ(by_ip->size(), 6u);
  EXPECT_EQ(fleio.calls(), 4 + 1);  // four pages, then 404
}

TEST_F(OwnerApisTest, FleioClientForProjectWithAndWithoutClientField) {
  FleioClient fleio(Fleio(), http_);
  // `client` object; the search also returns a project that only mentions the id.
  EXPECT_EQ(*fleio.ClientForProject(kAcme), std::optional<std::string>("101"));
  // No `client` field: "{client name} - {client id}" naming convention.
  EXPECT_EQ(*fleio.ClientForProject(kJane), std::optional<std::string>("102"));
  // `client` as a bare id.
  EXPECT_EQ(*fleio.ClientForProject(kCobalt), std::optional<std::string>("103"));
  // Unknown to Fleio.
  EXPECT_EQ(*fleio.ClientForProject(kOrphan), std::nullopt);
  EXPECT_EQ(fleio.calls(), 4);
  // Cached, including "unknown".
  EXPECT_EQ(*fleio.ClientForProject(kAcme), std::optional<std::string>("101"));
  EXPECT_EQ(*fleio.ClientForProject(kOrphan), std::nullopt);
  EXPECT_EQ(fleio.calls(), 4);
  EXPECT_EQ(fake_.Count("/backend/staffapi/openstack/projects"), 4);
}

TEST_F(OwnerApisTest, FleioClientComposesNameAndIsCached) {
  FleioClient fleio(Fleio(), http_);
  absl::StatusOr<FleioCustomer> acme = fleio.Client("101");
  ASSERT_TRUE(acme.ok()) << acme.status();
  EXPECT_EQ(acme->id, "101");
  EXPECT_EQ(acme->name, "Acme Hosting GmbH");  // company
  EXPECT_EQ(acme->email, "abuse@acme.example");
  absl::StatusOr<FleioCustomer> jane = fleio.Client("102");
  ASSERT_TRUE(jane.ok()) << jane.status();
  EXPECT_EQ(jane->name, "Jane Doe");  // first and last name
  EXPECT_EQ(jane->email, "jane@doe.example");
  absl::StatusOr<FleioCustomer> cobalt = fleio.Client("103");
  ASSERT_TRUE(cobalt.ok()) << cobalt.status();
  EXPECT_EQ(cobalt->name, "Cobalt Networks");  // name
  EXPECT_EQ(cobalt->email, "");                // null
  EXPECT_EQ(fleio.calls(), 3);

  ASSERT_TRUE(fleio.Client("101").ok());
  ASSERT_TRUE(fleio.Client("101").ok());
  EXPECT_EQ(fleio.calls(), 3);
  EXPECT_EQ(fake_.Count("/backend/staffapi/clients/101"), 1);

  absl::StatusOr<FleioCustomer> missing = fleio.Client("999");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(absl::IsNotFound(missing.status()));
  EXPECT_EQ(missing.status().message(), "fleio client 999: HTTP 404");
}

TEST_F(OwnerApisTest, FleioWrongTokenIsUnauthenticatedWithoutTheToken) {
  FleioConfig config = Fleio();
  config.token = "ffffffffffffffffffffffffffffffff7e57c0de";
  FleioClient fleio(config, http_);
  absl::StatusOr<std::map<std::string, std::string>> by_ip = fleio.FloatingIpClients();
  ASSERT_FALSE(by_ip.ok());
  EXPECT_TRUE(absl::IsUnauthenticated(by_ip.status())) << by_ip.status();
  EXPECT_EQ(by_ip.status().message(), "fleio floatingips: HTTP 401 Unauthorized (check the token)");
  EXPECT_THAT(std::string(by_ip.status().message()), Not(HasSubstr("7e57c0de")));
}

TEST_F(OwnerApisTest, FleioMalformedJsonAndServerErrors) {
  fake_.Control(R"({"malformed": "/backend/staffapi/clients"})");
  FleioClient fleio(Fleio(), http_);
  absl::StatusOr<FleioCustomer> c = fleio.Client("101");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StartsWith(c.status().message(), "fleio client 101: malformed JSON: "))
      << c.status();
  ExpectNoSecrets(c.status());

  fake_.Control(R"({"reset": true, "fail_next": [500, 502]})");
  absl::StatusOr<std::map<std::string, std::string>> by_ip = fleio.FloatingIpClients();
  ASSERT_TRUE(by_ip.ok()) << by_ip.status();
  EXPECT_EQ(by_ip->size(), 6u);

  fake_.Control(R"({"reset": true, "fail_next": [500, 500, 500]})");
  absl::StatusOr<std::optional<std::string>> p = fleio.ClientForProject(kJane);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), "fleio projects: HTTP 500");
  ExpectNoSecrets(p.status());
}

// One report's worth of lookups: a fixed number of calls however many IPs.
TEST_F(OwnerApisTest, ReportLookupsCostAFixedNumberOfCalls) {
  OpenStackClient os(OpenStack(), http_, clock_);
  FleioClient fleio(Fleio(), http_);
  absl::StatusOr<OpenStackIndex> index = os.BuildIndex();
  ASSERT_TRUE(index.ok()) << index.status();
  absl::StatusOr<std::map<std::string, std::string>> fips = fleio.FloatingIpClients();
  ASSERT_TRUE(fips.ok()) << fips.status();
  std::map<std::string, std::string> email_by_ip;
  for (const auto& [ip, owner] : index->by_ip) {
    std::optional<std::string> client;
    if (auto it = fips->find(ip); it != fips->end()) {
      client = it->second;
    } else {
      absl::StatusOr<std::optional<std::string>> c = fleio.ClientForProject(owner.project_id);
      ASSERT_TRUE(c.ok()) << c.status();
      client = *c;
    }
    if (!client) continue;
    absl::StatusOr<FleioCustomer> customer = fleio.Client(*client);
    ASSERT_TRUE(customer.ok()) << customer.status();
    email_by_ip[ip] = customer->email;
  }
  EXPECT_EQ(email_by_ip["203.0.113.2"], "abuse@acme.example");  // router gateway
  EXPECT_EQ(email_by_ip["198.51.100.2"], "jane@doe.example");   // router gateway
  EXPECT_EQ(email_by_ip["203.0.113.60"], "");                   // Cobalt: no email
  EXPECT_EQ(email_by_ip.count("203.0.113.50"), 0u);             // orphan project
  EXPECT_EQ(email_by_ip.size(), 10u);
  // 6 OpenStack calls. Fleio: 1 floating IP page; a project search for each
  // project whose addresses Fleio's floating IPs do not cover (the router
  // gateways of Acme and Jane, Cobalt's port, the orphan: 4, cached after);
  // 3 clients, cached.
  EXPECT_EQ(os.calls(), 6);
  EXPECT_EQ(fleio.calls(), 1 + 4 + 3);
}

}  // namespace
}  // namespace goalkeeper
