// TestCerts as the TLS tests use it: identities chained to one CA with the
// SAN URI of their name, another CA, expired certificates, the flags and
// YAML it hands out, and the temporary directory gone when the process ends.
#include "tests/testing/test_certs.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/files.h"
#include "tests/testing/subprocess.h"

namespace goalkeeper::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// `openssl ARGS...`: exit code and output.
RunResult Openssl(std::vector<std::string> args) {
  args.insert(args.begin(), "/usr/bin/openssl");
  return ::goalkeeper::testing::Run(args);
}

TEST(TestCertsTest, IdentitiesChainToOneCaAndCarryTheirName) {
  const TestCerts& certs = TestCerts::Get();
  for (const char* name : {"coordinator", "worker", "admin", "worker-7"}) {
    const std::string dir = certs.Dir(name);
    EXPECT_EQ(dir, certs.root() + "/" + name);
    EXPECT_EQ(ReadFile(dir + "/ca.crt"), ReadFile(certs.CaFile())) << name;
    RunResult v = Openssl({"verify", "-CAfile", certs.CaFile(), dir + "/tls.crt"});
    EXPECT_EQ(v.exit_code, 0) << name << ": " << v.out << v.err;
    RunResult t = Openssl({"x509", "-in", dir + "/tls.crt", "-noout", "-ext", "subjectAltName"});
    EXPECT_THAT(t.out, HasSubstr(std::string("URI:spiffe://goalkeeper/") + name + ","));
    EXPECT_THAT(t.out, HasSubstr("IP Address:127.0.0.1"));
  }
}

TEST(TestCertsTest, AnIdentityIsMadeOnceAndKept) {
  const TestCerts& certs = TestCerts::Get();
  const std::string first = ReadFile(certs.Dir("viewer") + "/tls.crt");
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(ReadFile(certs.Dir("viewer") + "/tls.crt"), first);
  // An expired "viewer" lives elsewhere and leaves the valid one alone.
  const std::string expired = certs.Expired("viewer");
  EXPECT_NE(expired, certs.Dir("viewer"));
  EXPECT_EQ(ReadFile(certs.Dir("viewer") + "/tls.crt"), first);
}

TEST(TestCertsTest, ExpiredIsOursButExpired) {
  const TestCerts& certs = TestCerts::Get();
  const std::string dir = certs.Expired("worker");
  RunResult v = Openssl({"verify", "-CAfile", certs.CaFile(), dir + "/tls.crt"});
  EXPECT_NE(v.exit_code, 0);
  EXPECT_THAT(v.out + v.err, HasSubstr("certificate has expired"));
  EXPECT_EQ(
      Openssl({"verify", "-no_check_time", "-CAfile", certs.CaFile(), dir + "/tls.crt"}).exit_code,
      0);
}

TEST(TestCertsTest, OtherCaIsNotTrustedByOurs) {
  const TestCerts& certs = TestCerts::Get();
  const std::string dir = certs.OtherCa("worker");
  EXPECT_NE(ReadFile(dir + "/ca.crt"), ReadFile(certs.CaFile()));
  RunResult v = Openssl({"verify", "-CAfile", certs.CaFile(), dir + "/tls.crt"});
  EXPECT_NE(v.exit_code, 0);
  EXPECT_EQ(Openssl({"verify", "-CAfile", dir + "/ca.crt", dir + "/tls.crt"}).exit_code, 0);
}

TEST(TestCertsTest, DnsNamesAreAdded) {
  const TestCerts& certs = TestCerts::Get();
  CertOptions options;
  options.dns = {"goalkeeper-coordinator"};
  const std::string dir = certs.Make("coordinator", options);
  EXPECT_NE(dir, certs.Dir("coordinator"));
  RunResult t = Openssl({"x509", "-in", dir + "/tls.crt", "-noout", "-ext", "subjectAltName"});
  EXPECT_THAT(t.out, HasSubstr("DNS:goalkeeper-coordinator"));
  EXPECT_EQ(Openssl({"verify", "-CAfile", certs.CaFile(), dir + "/tls.crt"}).exit_code, 0);
}

TEST(TestCertsTest, FlagsYamlAndGrpcurlFlagsNameTheFiles) {
  const TestCerts& certs = TestCerts::Get();
  const std::string dir = certs.Dir("operator");
  EXPECT_THAT(certs.Flags("operator"), ElementsAre("--tls-dir", dir));
  EXPECT_EQ(certs.Yaml("operator"), "tls:\n  dir: " + dir + "\n");
  EXPECT_EQ(certs.Yaml("operator", 2), "  tls:\n    dir: " + dir + "\n");
  EXPECT_THAT(
      certs.GrpcurlFlags("operator"),
      ElementsAre("-cacert", certs.CaFile(), "-cert", dir + "/tls.crt", "-key", dir + "/tls.key"));
  EXPECT_EQ(certs.DaemonYaml("operator"), "tls:\n  dir: " + dir + "\nhealth_listen: \"\"\n");
  EXPECT_THAT(WithTls({"ctl", "x"}, "operator"), ElementsAre("ctl", "x", "--tls-dir", dir));
  const TlsConfig tls = certs.Tls("operator");
  EXPECT_EQ(tls.ca_file, dir + "/ca.crt");
  EXPECT_EQ(tls.cert_file, dir + "/tls.crt");
  EXPECT_EQ(tls.key_file, dir + "/tls.key");
  EXPECT_FALSE(tls.insecure);
  std::vector<std::string> argv = {"x"};
  AddArgs(argv, certs.Flags("operator"));
  EXPECT_THAT(argv, ElementsAre("x", "--tls-dir", dir));
}

// A process that made certificates leaves nothing behind: the death test's
// child (re-executed, so with no TestCerts yet) makes them, writes where,
// and exits.
TEST(TestCertsTest, TheDirectoryIsRemovedWhenTheProcessExits) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // The re-executed child runs this body again: it keeps the parent's note.
  if (std::getenv("TEST_CERTS_NOTE") == nullptr) {
    const std::string path = ::testing::TempDir() + "/test-certs-root-" + std::to_string(getpid());
    ASSERT_EQ(setenv("TEST_CERTS_NOTE", path.c_str(), 1), 0);
  }
  const std::string note = std::getenv("TEST_CERTS_NOTE");
  EXPECT_EXIT(
      {
        WriteFile(note, TestCerts::Get().root());
        std::exit(std::filesystem::exists(TestCerts::Get().CaFile()) ? 0 : 3);
      },
      ::testing::ExitedWithCode(0), "");
  const std::string root = ReadFile(note);
  std::filesystem::remove(note);
  unsetenv("TEST_CERTS_NOTE");
  EXPECT_THAT(root, HasSubstr("goalkeeper-certs-"));
  EXPECT_FALSE(std::filesystem::exists(root)) << root;
}

}  // namespace
}  // namespace goalkeeper::testing
