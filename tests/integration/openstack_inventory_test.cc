// An `openstack` inventory end to end: a real goalkeeper-coordinator fetches
// the public addresses from the local Keystone/Neutron fake
// (tests/fakes/owner_apis.py) when `goalkeeperctl scan start --inventory`
// asks, and a real worker scans them. The fixtures' documentation addresses
// are moved into 127.69.0.0/16 (203.0.113.x -> 127.69.0.x, 198.51.100.x ->
// 127.69.1.x) so that every probe stays on loopback; the one IPv6 address
// (2001:db8::60) is excluded by the inventory and never probed. The fleet's
// gRPC links are mutual TLS (tests/testing/test_certs.h).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/files.h"
#include "tests/testing/loopback.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_certs.h"

namespace goalkeeper {
namespace {

using ::goalkeeper::testing::OpenPort;
using ::goalkeeper::testing::RunResult;
using ::goalkeeper::testing::Subprocess;
using ::goalkeeper::testing::TestCerts;
using ::goalkeeper::testing::WithTls;
using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

constexpr char kSource[] = GOALKEEPER_SOURCE_DIR;
constexpr char kCoordinator[] = GOALKEEPER_COORDINATOR_BIN;
constexpr char kWorker[] = GOALKEEPER_WORKER_BIN;
constexpr char kCtl[] = GOALKEEPER_CTL_BIN;
constexpr char kPassword[] = "keystone-fixture-pw";  // tests/fixtures/owner_apis/credentials.json

using ::goalkeeper::testing::ReadFile;
using ::goalkeeper::testing::WriteFile;

// What the fake's PublicAddresses come to after the move into 127.69/16:
// floating IPs, router gateways, the compute and the DHCP port on external
// networks (tests/fixtures/owner_apis/README.md), without 2001:db8::60.
const std::set<std::string>& PublicAddresses() {
  static const auto* kAll = new std::set<std::string>{
      "127.69.0.10", "127.69.0.11", "127.69.0.20", "127.69.0.21", "127.69.0.30", "127.69.1.40",
      "127.69.0.50", "127.69.0.2",  "127.69.1.2",  "127.69.0.60", "127.69.0.3"};
  return *kAll;
}

class OpenStackInventoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/os-inventory-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::system(("rm -rf " + dir_ + " && mkdir -p " + dir_ + "/fixtures").c_str());
    for (const char* f :
         {"credentials.json", "fleio_clients.json", "fleio_floatingips.json", "fleio_projects.json",
          "keystone_projects.json", "neutron_floatingips.json", "neutron_networks.json",
          "neutron_ports.json", "neutron_routers.json"}) {
      std::string text = ReadFile(std::string(kSource) + "/tests/fixtures/owner_apis/" + f);
      text = absl::StrReplaceAll(text, {{"203.0.113.", "127.69.0."}, {"198.51.100.", "127.69.1."}});
      WriteFile(dir_ + "/fixtures/" + f, text);
    }
    WriteFile(dir_ + "/os.pw", absl::StrCat(kPassword, "\n"));
    WriteFile(dir_ + "/wrong.pw", "not-the-password\n");
    fake_.emplace(
        Subprocess::Start({"/usr/bin/python3", std::string(kSource) + "/tests/fakes/owner_apis.py",
                           "--fixtures", dir_ + "/fixtures"}));
    const std::string out = fake_->ReadStdoutUntil("\n", std::chrono::seconds(20));
    const size_t at = out.find("listening ");
    ASSERT_NE(at, std::string::npos)
        << "owner_apis.py did not start: " << out << fake_->err_so_far();
    fake_port_ = std::stoi(out.substr(at + 10));
  }

  void TearDown() override {
    if (worker_) worker_->Signal(SIGKILL);
    if (coordinator_) coordinator_->Signal(SIGKILL);
    if (fake_) fake_->Signal(SIGKILL);
  }

  // An inventory's `openstack` block pointing at the fake.
  std::string OpenStackBlock(const std::string& password_file) const {
    return absl::StrCat("    openstack:\n      auth_url: http://127.0.0.1:", fake_port_,
                        "\n      username: goalkeeper\n      project_name: admin\n",
                        "      password_file: ", dir_, "/", password_file,
                        "\n      region: RegionOne\n");
  }

  void StartCoordinator(const std::string& allowed, const std::string& inventories) {
    WriteFile(
        dir_ + "/coordinator.yaml",
        absl::StrCat("listen: 127.0.0.1:0\ndb: ", dir_, "/coordinator.db\nmetrics_listen: \"\"\n",
                     TestCerts::Get().DaemonYaml("coordinator"), "allowed_ranges: [", allowed,
                     "]\ninventories:\n", inventories,
                     "profiles:\n  lab: {ports: \"15432\", timeout_ms: 300, retries: 1}\n"));
    const std::string log = dir_ + "/coordinator.log";
    coordinator_.emplace(
        Subprocess::StartLogged({kCoordinator, "--config", dir_ + "/coordinator.yaml"}, log));
    const std::string needle = "coordinator listening grpc=127.0.0.1:";
    for (int i = 0; i < 200; ++i) {
      const std::string text = ReadFile(log);
      if (size_t at = text.find(needle); at != std::string::npos) {
        coordinator_port_ = std::stoi(text.substr(at + needle.size()));
        return;
      }
      ASSERT_FALSE(coordinator_->Exited()) << "coordinator exited:\n" << text;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "coordinator did not start:\n" << ReadFile(log);
  }

  RunResult Ctl(std::vector<std::string> args) {
    args.insert(args.begin(),
                {kCtl, "--coordinator", absl::StrCat("127.0.0.1:", coordinator_port_)});
    return ::goalkeeper::testing::Run(WithTls(args, "admin"), std::chrono::seconds(150));
  }

  // Requests the fake counted for a path.
  int FakeCount(const std::string& path) {
    RunResult r = ::goalkeeper::testing::Run(
        {"/usr/bin/python3", "-c",
         "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())",
         absl::StrCat("http://127.0.0.1:", fake_port_, "/_stats")});
    if (r.exit_code != 0) return -1;
    const json stats = json::parse(r.out, nullptr, false);
    if (!stats.is_object() || !stats.contains("paths")) return -1;
    return stats["paths"].value(path, 0);
  }

  std::string dir_;
  std::optional<Subprocess> fake_;
  std::optional<Subprocess> coordinator_;
  std::optional<Subprocess> worker_;
  int fake_port_ = 0;
  int coordinator_port_ = 0;
};

TEST_F(OpenStackInventoryTest, ScanStartFetchesThePublicAddressesAndScansThem) {
  // Open on an OpenStack address, and on one OpenStack does not list.
  auto listed = OpenPort::Start("127.69.0.10", 15432);
  auto unlisted = OpenPort::Start("127.69.0.99", 15432);
  ASSERT_NO_FATAL_FAILURE(StartCoordinator(
      "127.69.0.0/16",
      absl::StrCat("  cloud:\n", OpenStackBlock("os.pw"), "    exclude: [\"2001:db8::/32\"]\n")));
  worker_.emplace(Subprocess::StartLogged(
      WithTls({kWorker, "run", "--coordinator", absl::StrCat("127.0.0.1:", coordinator_port_),
               "--concurrency", "64", "--metrics-listen", "127.0.0.1:0", "--health-listen",
               "127.0.0.1:0"},
              "worker"),
      dir_ + "/worker.log"));

  RunResult r = Ctl(
      {"scan", "start", "--inventory", "cloud", "--profile", "lab", "--wait", "--output", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err << "\n" << ReadFile(dir_ + "/coordinator.log");
  // --wait --output json prints the scan once it ended.
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_FALSE(lines.empty());
  const json scan = json::parse(lines.back(), nullptr, false);
  ASSERT_TRUE(scan.is_object()) << r.out;
  EXPECT_EQ(scan.value("state", ""), "SUCCEEDED") << r.out;
  EXPECT_EQ(scan.value("inventory", ""), "cloud");
  // One port: one probe per public address (protobuf's JSON writes uint64 as a string).
  EXPECT_EQ(scan.value("probes_total", ""), std::to_string(PublicAddresses().size())) << r.out;
  std::set<std::string> include;
  for (const json& t : scan["targets"]["include"]) include.insert(t.get<std::string>());
  EXPECT_EQ(include, PublicAddresses()) << "2001:db8::60 is excluded";

  RunResult findings = Ctl({"scan", "findings", scan.value("id", ""), "--output", "jsonl"});
  ASSERT_EQ(findings.exit_code, 0) << findings.err;
  EXPECT_THAT(findings.out, HasSubstr("127.69.0.10"));
  EXPECT_THAT(findings.out, Not(HasSubstr("127.69.0.99"))) << "not in OpenStack: not scanned";

  EXPECT_GE(FakeCount("/v2.0/floatingips"), 1);
  const std::string log = ReadFile(dir_ + "/coordinator.log");
  EXPECT_THAT(log, HasSubstr("openstack inventory=cloud"));
  EXPECT_THAT(log, HasSubstr("openstack_addresses=11"));
  EXPECT_THAT(log, Not(HasSubstr(kPassword)));
}

TEST_F(OpenStackInventoryTest, RefusesAddressesOutsideAllowedRangesAndReportsApiFailures) {
  ASSERT_NO_FATAL_FAILURE(StartCoordinator(
      "127.69.0.0/24",  // 127.69.1.x (provider-2) is outside
      absl::StrCat("  cloud:\n", OpenStackBlock("os.pw"), "    exclude: [\"2001:db8::/32\"]\n",
                   "  badauth:\n", OpenStackBlock("wrong.pw"))));

  RunResult r = Ctl({"scan", "start", "--inventory", "cloud", "--profile", "lab"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_EQ(r.err,
            "error: inventories.cloud: openstack address 127.69.1.2 is outside "
            "allowed_ranges\n");

  r = Ctl({"scan", "start", "--inventory", "badauth", "--profile", "lab"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(r.err,
            "error: inventory 'badauth': openstack: keystone: 401 Unauthorized (check the "
            "username and password)\n");

  RunResult list = Ctl({"scan", "list", "--output", "json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, Not(HasSubstr("\"id\""))) << "no scan was stored";
  const std::string log = ReadFile(dir_ + "/coordinator.log");
  EXPECT_THAT(log, Not(HasSubstr(kPassword)));
  EXPECT_THAT(log, Not(HasSubstr("not-the-password")));
}

}  // namespace
}  // namespace goalkeeper
