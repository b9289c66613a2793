// The OpenStack inventory source: passwords read at start, requests through
// the HttpClient seam (a fake here; tests/integration/openstack_inventory_test.cc
// runs it against the local Keystone/Neutron fake).
#include "coordinator/inventory_source.h"

#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Answers every request with one status and keeps the requests.
class RecordingHttp : public HttpClient {
 public:
  explicit RecordingHttp(int status) : status_(status) {}
  absl::StatusOr<HttpResponse> Send(const HttpRequest& req) override {
    absl::MutexLock lock(&mu_);
    requests_.push_back(req);
    HttpResponse resp;
    resp.status = status_;
    return resp;
  }
  std::vector<HttpRequest> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

 private:
  const int status_;
  absl::Mutex mu_;
  std::vector<HttpRequest> requests_ ABSL_GUARDED_BY(mu_);
};

class InventorySourceTest : public ::testing::Test {
 protected:
  InventorySourceTest() : clock_(absl::FromUnixSeconds(1'800'000'000)) {
    unsetenv("GOALKEEPER_OPENSTACK_PASSWORD");
    OpenStackConfig os;
    os.auth_url = "http://127.0.0.1:5000";
    os.username = "gk";
    os.project_name = "ops";
    config_.inventories["cloud"].openstack = os;
    config_.inventories["static"].targets = {"127.80.0.0/24"};
  }
  ~InventorySourceTest() override { unsetenv("GOALKEEPER_OPENSTACK_PASSWORD"); }

  OpenStackConfig& cloud() { return *config_.inventories["cloud"].openstack; }

  FakeClock clock_;
  CoordinatorConfig config_;
  RecordingHttp http_{503};
};

TEST_F(InventorySourceTest, MissingPasswordFileIsAStartErrorNamingInventoryAndFile) {
  cloud().password_file = "/nonexistent/gk/openstack.pw";
  auto source = MakeOpenStackInventorySource(config_, http_, clock_);
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(source.status().message(),
            "inventories.cloud.openstack.password_file: cannot read secret file "
            "'/nonexistent/gk/openstack.pw': No such file or directory");
  cloud().password_file = "";  // and no environment variable either
  source = MakeOpenStackInventorySource(config_, http_, clock_);
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.status().message(),
            "inventories.cloud.openstack.password_file: GOALKEEPER_OPENSTACK_PASSWORD is not set");
  EXPECT_TRUE(http_.requests().empty());
}

TEST_F(InventorySourceTest, PasswordFromFileGoesToKeystoneButNeverIntoErrors) {
  const std::string path =
      ::testing::TempDir() + "/inventory-source-" + std::to_string(getpid()) + ".pw";
  std::ofstream(path) << "file-s3cret-pw\n";
  cloud().password_file = path;
  auto source = MakeOpenStackInventorySource(config_, http_, clock_);
  unlink(path.c_str());
  ASSERT_TRUE(source.ok()) << source.status();
  absl::StatusOr<std::vector<std::string>> ips = (*source)->Fetch("cloud");
  ASSERT_FALSE(ips.ok());
  EXPECT_EQ(ips.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ips.status().message(), "keystone: HTTP 503");
  ASSERT_EQ(http_.requests().size(), 1u);
  EXPECT_EQ(http_.requests()[0].url, "http://127.0.0.1:5000/v3/auth/tokens");
  EXPECT_THAT(http_.requests()[0].body, HasSubstr("\"file-s3cret-pw\""));
  EXPECT_THAT(std::string(ips.status().message()), Not(HasSubstr("s3cret")));
}

TEST_F(InventorySourceTest, PasswordFromTheEnvironmentWhenNoFile) {
  setenv("GOALKEEPER_OPENSTACK_PASSWORD", "env-s3cret-pw", 1);
  auto source = MakeOpenStackInventorySource(config_, http_, clock_);
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_FALSE((*source)->Fetch("cloud").ok());
  ASSERT_EQ(http_.requests().size(), 1u);
  EXPECT_THAT(http_.requests()[0].body, HasSubstr("\"env-s3cret-pw\""));
}

TEST_F(InventorySourceTest, InventoriesWithoutOpenStackNeedNoPasswordAndAreNotFetched) {
  config_.inventories.erase("cloud");
  auto source = MakeOpenStackInventorySource(config_, http_, clock_);
  ASSERT_TRUE(source.ok()) << source.status();
  absl::StatusOr<std::vector<std::string>> ips = (*source)->Fetch("static");
  EXPECT_EQ(ips.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ips.status().message(), "inventory 'static' has no openstack block");
  EXPECT_TRUE(http_.requests().empty());
}

}  // namespace
}  // namespace goalkeeper
