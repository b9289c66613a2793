// FormatNotifierConfig (what --check-config prints): print -> re-parse ->
// equal, every key present with its default, secrets never printed; and the
// secrets a start reads (NotifierSecrets, CheckSecret, DescribeSecret).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/http_client.h"
#include "notifier/config.h"
#include "tests/testing/files.h"

namespace goalkeeper {
namespace {

using ::goalkeeper::testing::WriteFile;
using ::testing::HasSubstr;
using ::testing::Not;

std::string FixturePath(absl::string_view name) {
  return absl::StrCat(GOALKEEPER_SOURCE_DIR "/tests/fixtures/notifier/", name);
}

std::string ExpectRoundTrip(const NotifierConfig& c) {
  const std::string text = FormatNotifierConfig(c);
  absl::StatusOr<NotifierConfig> again = ParseNotifierConfig(text, "printed.yaml");
  EXPECT_TRUE(again.ok()) << again.status() << "\n" << text;
  if (!again.ok()) return text;
  EXPECT_TRUE(*again == c) << text;
  EXPECT_EQ(FormatNotifierConfig(*again), text);
  return text;
}

class NotifierConfigFixtureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(NotifierConfigFixtureTest, PrintedConfigParsesBackEqual) {
  absl::StatusOr<NotifierConfig> c = LoadNotifierConfig(FixturePath(GetParam()));
  ASSERT_TRUE(c.ok()) << c.status();
  ExpectRoundTrip(*c);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, NotifierConfigFixtureTest,
                         ::testing::Values("example.yaml", "block_style.yaml"));

TEST(NotifierConfigFormatTest, PrintsEveryKeyWithItsDefault) {
  absl::StatusOr<NotifierConfig> c =
      ParseNotifierConfig("ops: {emails: [noc@example.net]}\n", "n.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(ExpectRoundTrip(*c),
            "listen: \"0.0.0.0:7071\"\n"
            "db: \"goalkeeper-notifier.db\"\n"
            "metrics_listen: \"0.0.0.0:9465\"\n"
            "mode: stage\n"
            "ops:\n"
            "  emails: [\"noc@example.net\"]\n"
            "  # telegram_chat_id: unset (no Telegram summaries)\n"
            "email:\n"
            "  smtp_url: \"\"\n"
            "  # username: unset (no SMTP authentication)\n"
            "  # password_file: unset: the password is read from $GOALKEEPER_SMTP_PASSWORD\n"
            "  from: \"goalkeeper@localhost.localdomain\"\n"
            "  # ca_file: unset (the system CA certificates)\n"
            "  outbox_dir: \"./outbox\"\n"
            "telegram:\n"
            "  api_url: \"https://api.telegram.org\"\n"
            "  # token_file: unset: the token is read from $GOALKEEPER_TELEGRAM_TOKEN; without "
            "it summaries go to the log\n"
            "owners:\n"
            "  static: []\n"
            "  # openstack: unset (no OpenStack owner lookups)\n"
            "  # fleio: unset (no Fleio owner lookups)\n"
            "notify:\n"
            "  repeat_interval: \"7d\"\n"
            "  give_up_after: \"3d\"\n"
            "  notify_closed: false\n"
            "  acknowledged: []\n"
            "tls:\n"
            "  # ca_file: unset\n"
            "  # cert_file: unset\n"
            "  # key_file: unset\n"
            "  refresh_seconds: 10  # the files are re-read this often\n"
            "insecure: false\n"
            "health_listen: \"0.0.0.0:7073\"\n"
            "auth:\n"
            "  identities:\n"
            "    - {match: \"spiffe://goalkeeper/worker*\", role: worker}\n"
            "    - {match: \"spiffe://goalkeeper/node-agent*\", role: node-agent}\n"
            "    - {match: \"spiffe://goalkeeper/coordinator*\", role: coordinator}\n"
            "    - {match: \"spiffe://goalkeeper/admin*\", role: admin}\n"
            "    - {match: \"spiffe://goalkeeper/operator*\", role: operator}\n"
            "    - {match: \"spiffe://goalkeeper/viewer*\", role: viewer}\n"
            "  tokens: []\n"
            "  max_streams_per_identity: 8\n"
            "  # roles: unset (no role is narrower than the config)\n");
}

TEST(NotifierConfigFormatTest, PrintsTheExampleInTheFileSchema) {
  absl::StatusOr<NotifierConfig> c = LoadNotifierConfig(FixturePath("example.yaml"));
  ASSERT_TRUE(c.ok()) << c.status();
  const std::string text = FormatNotifierConfig(*c);
  EXPECT_THAT(text, HasSubstr("  password_file: \"/run/secrets/smtp\"\n"));
  EXPECT_THAT(text, HasSubstr("  token_file: \"/run/secrets/telegram\"\n"));
  EXPECT_THAT(text, HasSubstr("  fleio:\n    url: \"https://fleio.example.net\"\n"
                              "    token_file: \"/run/secrets/fleio\"\n"));
  EXPECT_THAT(text, HasSubstr("  static:\n    - cidr: \"198.51.100.0/28\"\n      name: \"ACME\"\n"
                              "      emails: [\"sec@acme.example\"]\n"
                              "      telegram_chat_id: \"-100456\"\n"));
  EXPECT_THAT(text, HasSubstr("  acknowledged:\n    - ip: \"198.51.100.7\"\n      port: 22\n"
                              "      until: \"2027-01-31T00:00:00+00:00\"\n"
                              "      reason: \"bastion\"\n"));
}

TEST(NotifierConfigFormatTest, DurationsAndTimesRoundTrip) {
  absl::StatusOr<NotifierConfig> c = ParseNotifierConfig(
      "ops: {emails: [noc@example.net]}\n"
      "notify:\n  repeat_interval: 1h30m\n  give_up_after: 48h\n"
      "  acknowledged: [{ip: 2001:DB8::7, port: 443, until: \"2026-06-01T12:30:00.25+02:00\"}]\n",
      "n.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  const std::string text = ExpectRoundTrip(*c);
  EXPECT_THAT(text, HasSubstr("repeat_interval: \"1h30m\"\n"));
  EXPECT_THAT(text, HasSubstr("give_up_after: \"2d\"\n"));
  EXPECT_THAT(text, HasSubstr("ip: \"2001:db8::7\"\n"));
  EXPECT_THAT(text, HasSubstr("until: \"2026-06-01T10:30:00.25+00:00\"\n"));
}

TEST(NotifierConfigFormatTest, ExtremeTimesAndDurationsRoundTrip) {
  for (const char* until : {"0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999-23:59",
                            "1970-01-01T00:00:00.000000001Z", "2027-01-31T00:00:00+14:00"}) {
    for (const char* d : {"1ns", "999999d", "2562047h", "0.25ns", "86399.5s"}) {
      SCOPED_TRACE(absl::StrCat(until, " ", d));
      absl::StatusOr<NotifierConfig> c = ParseNotifierConfig(
          absl::StrCat("ops: {emails: [noc@example.net]}\nnotify:\n  repeat_interval: ", d,
                       "\n  acknowledged: [{ip: 192.0.2.1, port: 1, until: \"", until, "\"}]\n"),
          "n.yaml");
      ASSERT_TRUE(c.ok()) << c.status();
      ExpectRoundTrip(*c);
    }
  }
}

TEST(NotifierConfigFormatTest, NeverPrintsTheOpenStackPassword) {
  absl::StatusOr<NotifierConfig> c = LoadNotifierConfig(FixturePath("example.yaml"));
  ASSERT_TRUE(c.ok()) << c.status();
  c->openstack.password = "MARKER-PASSWORD-93be";  // as loaded at start
  const std::string text = FormatNotifierConfig(*c);
  EXPECT_THAT(text, Not(HasSubstr("MARKER-PASSWORD-93be")));
  EXPECT_THAT(text, Not(HasSubstr("password:")));
}

TEST(NotifierConfigFormatTest, SecretsFollowTheStartRules) {
  absl::StatusOr<NotifierConfig> c = LoadNotifierConfig(FixturePath("example.yaml"));
  ASSERT_TRUE(c.ok()) << c.status();
  std::vector<std::string> keys;
  for (const SecretRef& s : NotifierSecrets(*c)) keys.push_back(s.key + "=" + s.file + "|" + s.env);
  EXPECT_THAT(keys, ::testing::ElementsAre(
                        "email.password_file=/run/secrets/smtp|GOALKEEPER_SMTP_PASSWORD",
                        "telegram.token_file=/run/secrets/telegram|GOALKEEPER_TELEGRAM_TOKEN",
                        "owners.openstack.password_file=/run/secrets/openstack|"
                        "GOALKEEPER_OPENSTACK_PASSWORD",
                        "owners.fleio.token_file=/run/secrets/fleio|GOALKEEPER_FLEIO_TOKEN"));
  // No SMTP username: no password is read; Telegram is optional.
  absl::StatusOr<NotifierConfig> plain = LoadNotifierConfig(FixturePath("block_style.yaml"));
  ASSERT_TRUE(plain.ok()) << plain.status();
  std::vector<SecretRef> secrets = NotifierSecrets(*plain);
  ASSERT_EQ(secrets.size(), 1u);
  EXPECT_EQ(secrets[0].key, "telegram.token_file");
  EXPECT_FALSE(secrets[0].required);
}

// CheckSecret/DescribeSecret (common/http_client.h), as --check-config uses them.
TEST(CheckSecretTest, NamesAMissingFileAndAnUnsetVariableButNeverTheValue) {
  const std::string dir = ::testing::TempDir();
  const std::string file = dir + "/check-secret-" + std::to_string(getpid());
  WriteFile(file, "MARKER-FILE-SECRET\n");
  const SecretRef from_file{"email.password_file", file, "GOALKEEPER_TEST_SECRET_X", true, ""};
  EXPECT_TRUE(CheckSecret(from_file).ok());
  EXPECT_EQ(DescribeSecret(from_file), "email.password_file: the file '" + file + "'");

  const SecretRef missing{"email.password_file", "/nonexistent/smtp", "GOALKEEPER_TEST_SECRET_X",
                          true, ""};
  absl::Status s = CheckSecret(missing);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "email.password_file: cannot read secret file '/nonexistent/smtp': No such file or "
            "directory");

  WriteFile(file, "\n");
  EXPECT_EQ(CheckSecret(from_file).message(),
            "email.password_file: secret file '" + file + "' is empty");
  std::remove(file.c_str());

  SecretRef env{"owners.fleio.token_file", "", "GOALKEEPER_TEST_SECRET_X", true, ""};
  unsetenv("GOALKEEPER_TEST_SECRET_X");
  EXPECT_EQ(CheckSecret(env).message(),
            "owners.fleio.token_file: not set, and GOALKEEPER_TEST_SECRET_X is not set");
  EXPECT_EQ(DescribeSecret(env),
            "owners.fleio.token_file: unset: from $GOALKEEPER_TEST_SECRET_X (not set)");
  setenv("GOALKEEPER_TEST_SECRET_X", "MARKER-ENV-SECRET", 1);
  EXPECT_TRUE(CheckSecret(env).ok());
  EXPECT_EQ(DescribeSecret(env),
            "owners.fleio.token_file: unset: from $GOALKEEPER_TEST_SECRET_X (set)");
  setenv("GOALKEEPER_TEST_SECRET_X", "", 1);
  EXPECT_EQ(CheckSecret(env).message(),
            "owners.fleio.token_file: GOALKEEPER_TEST_SECRET_X is empty");

  unsetenv("GOALKEEPER_TEST_SECRET_X");
  const SecretRef optional{"telegram.token_file", "", "GOALKEEPER_TEST_SECRET_X", false,
                           "Telegram summaries go to the log"};
  EXPECT_TRUE(CheckSecret(optional).ok());
  EXPECT_EQ(DescribeSecret(optional),
            "telegram.token_file: unset, and $GOALKEEPER_TEST_SECRET_X is not set: Telegram "
            "summaries go to the log");
}

}  // namespace
}  // namespace goalkeeper
