// FormatCoordinatorConfig (what --check-config prints): print -> re-parse ->
// equal, every key present with its default, secrets never printed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "coordinator/config.h"

namespace goalkeeper {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string FixturePath(absl::string_view name) {
  return absl::StrCat(GOALKEEPER_SOURCE_DIR "/tests/fixtures/coordinator/", name);
}

// Prints `c`, parses the text back and expects the same config; returns the text.
std::string ExpectRoundTrip(const CoordinatorConfig& c) {
  const std::string text = FormatCoordinatorConfig(c);
  absl::StatusOr<CoordinatorConfig> again = ParseCoordinatorConfig(text, "printed.yaml");
  EXPECT_TRUE(again.ok()) << again.status() << "\n" << text;
  if (!again.ok()) return text;
  EXPECT_TRUE(*again == c) << text;
  EXPECT_EQ(FormatCoordinatorConfig(*again), text);
  return text;
}

class CoordinatorConfigFixtureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CoordinatorConfigFixtureTest, PrintedConfigParsesBackEqual) {
  absl::StatusOr<CoordinatorConfig> c = LoadCoordinatorConfig(FixturePath(GetParam()));
  ASSERT_TRUE(c.ok()) << c.status();
  ExpectRoundTrip(*c);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CoordinatorConfigFixtureTest,
                         ::testing::Values("example.yaml", "block_style.yaml"));

TEST(CoordinatorConfigFormatTest, PrintsEveryKeyWithItsDefault) {
  absl::StatusOr<CoordinatorConfig> c = ParseCoordinatorConfig("{}", "flags");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(ExpectRoundTrip(*c),
            "listen: \"0.0.0.0:7070\"\n"
            "db: \"goalkeeper-coordinator.db\"\n"
            "metrics_listen: \"0.0.0.0:9464\"\n"
            "allowed_ranges: []\n"
            "inventories: {}\n"
            "profiles:\n"
            "  \"default\":\n"
            "    ports: \"dangerous\"\n"
            "    timeout_ms: 500\n"
            "    retries: 1\n"
            "    rate: 0  # probes/s, 0 = no cap\n"
            "    probes: verify  # none | verify | all\n"
            "    udp: []\n"
            "schedules: []\n"
            "notifier:\n"
            "  address: \"\"  # none: reports wait pending\n"
            "lease:\n"
            "  ttl_seconds: 30\n"
            "  heartbeat_seconds: 5\n"
            "  shard_seconds: 5\n"
            "  confirm_wait_seconds: 2\n"
            "limits:\n"
            "  max_probes_per_scan: 4294967296\n"
            "nodes:\n"
            "  silence_after_intervals: 3  # heartbeat intervals without a report: agent "
            "silent\n"
            "tls:\n"
            "  # ca_file: unset\n"
            "  # cert_file: unset\n"
            "  # key_file: unset\n"
            "  refresh_seconds: 10  # the files are re-read this often\n"
            "insecure: false\n"
            "health_listen: \"0.0.0.0:7072\"  # plaintext grpc.health.v1 only; \"\" = off\n"
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
            "  # roles: unset (no role is narrower than the config)\n"
            "canaries: []  # none: no run is checked\n");
}

TEST(CoordinatorConfigFormatTest, TlsAndHealthListenRoundTrip) {
  absl::StatusOr<CoordinatorConfig> c = ParseCoordinatorConfig(
      "tls: {dir: /etc/gk/tls, refresh_seconds: 3}\nhealth_listen: \"\"\n", "c.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->tls.cert_file, "/etc/gk/tls/tls.crt");
  EXPECT_EQ(c->health_listen, "");
  EXPECT_THAT(ExpectRoundTrip(*c), HasSubstr("tls:\n  ca_file: \"/etc/gk/tls/ca.crt\"\n"));
  c = ParseCoordinatorConfig("insecure: true\n", "c.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(ExpectRoundTrip(*c), HasSubstr("insecure: true"));
  EXPECT_EQ(ParseCoordinatorConfig("tls: {dir: /x}\ninsecure: true\n", "c.yaml").status().message(),
            "c.yaml:2: insecure: true contradicts the tls: files (plaintext or TLS: give one)");
}

TEST(CoordinatorConfigFormatTest, NodeSilenceRoundTrips) {
  absl::StatusOr<CoordinatorConfig> c =
      ParseCoordinatorConfig("nodes: {silence_after_intervals: 7}\n", "c.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(ExpectRoundTrip(*c), HasSubstr("\nnodes:\n  silence_after_intervals: 7  #"));
}

TEST(CoordinatorConfigFormatTest, PrintsTheExampleInTheFileSchema) {
  absl::StatusOr<CoordinatorConfig> c = LoadCoordinatorConfig(FixturePath("example.yaml"));
  ASSERT_TRUE(c.ok()) << c.status();
  const std::string text = FormatCoordinatorConfig(*c);
  EXPECT_THAT(text, HasSubstr("allowed_ranges: [\"198.51.100.0/24\", \"2001:db8::/48\"]\n"));
  EXPECT_THAT(text, HasSubstr("  \"cloud\":\n"
                              "    # targets: none: the openstack addresses only\n"
                              "    exclude: [\"198.51.100.77\"]\n"
                              "    openstack:\n"
                              "      auth_url: \"https://keystone.example.net:5000\"\n"));
  EXPECT_THAT(text, HasSubstr("      password_file: \"/run/secrets/openstack\"\n"));
  EXPECT_THAT(text, HasSubstr("  - name: \"prod-daily\"\n"
                              "    cron: \"0 3 * * *\"\n"
                              "    timezone: \"Europe/Bucharest\"\n"));
}

TEST(CoordinatorConfigFormatTest, UnsetTimezoneIsACommentAndStaysUtc) {
  absl::StatusOr<CoordinatorConfig> c = ParseCoordinatorConfig(
      "allowed_ranges: [10.0.0.0/8]\ninventories: {a: {targets: [10.0.0.0/24]}}\n"
      "schedules: [{name: s, cron: \"@daily\", inventory: a}]\n",
      "c.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(ExpectRoundTrip(*c), HasSubstr("    # timezone: unset (UTC)\n"));
}

TEST(CoordinatorConfigFormatTest, StringsWithQuotesBackslashesAndControlsRoundTrip) {
  absl::StatusOr<CoordinatorConfig> c = ParseCoordinatorConfig("{}", "flags");
  ASSERT_TRUE(c.ok()) << c.status();
  c->db =
      "/tmp/a \"b\" \\c\td\ne\x01"
      "f: #g ünï";  // as --db may give it
  EXPECT_THAT(ExpectRoundTrip(*c),
              HasSubstr("db: \"/tmp/a \\\"b\\\" \\\\c\\td\\ne\\x01f: #g ünï\"\n"));
}

// Bytes YAML could read differently in a double-quoted scalar: line breaks
// (CR, NEL, LS, PS), a byte-order mark, invalid UTF-8, leading and trailing
// spaces, a lone '#'.
TEST(CoordinatorConfigFormatTest, AwkwardBytesRoundTrip) {
  absl::StatusOr<CoordinatorConfig> c = ParseCoordinatorConfig("{}", "flags");
  ASSERT_TRUE(c.ok()) << c.status();
  for (const char* db :
       {"a\rb",
        "a\xc2\x85"
        "b",
        "a\xe2\x80\xa8"
        "b",
        "a\xe2\x80\xa9"
        "b",
        "\xef\xbb\xbf"
        "db",
        "a\xff\xfe"
        "b",
        "\xc3", " lead and trail ", "#", "'", "- x", "{[", "a\\u00e9", "\x7f", "~", "null"}) {
    c->db = db;
    SCOPED_TRACE(db);
    ExpectRoundTrip(*c);
  }
}

TEST(CoordinatorConfigFormatTest, NumbersRoundTripExactly) {
  absl::StatusOr<CoordinatorConfig> c = ParseCoordinatorConfig(
      "profiles: {a: {rate: 0.1}, b: {rate: 1000000000}, c: {rate: 1500.5}}\n"
      "lease: {shard_seconds: 0.001}\nlimits: {max_probes_per_scan: 9223372036854775808}\n",
      "c.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  const std::string text = ExpectRoundTrip(*c);
  EXPECT_THAT(text, HasSubstr("rate: 1000000000 "));
  EXPECT_THAT(text, HasSubstr("rate: 0.1 "));
  EXPECT_THAT(text, HasSubstr("shard_seconds: 0.001\n"));
  EXPECT_THAT(text, HasSubstr("max_probes_per_scan: 9223372036854775808\n"));
}

TEST(CoordinatorConfigFormatTest, NeverPrintsThePasswordAndNamesTheVariableWhenNoFile) {
  absl::StatusOr<CoordinatorConfig> c = ParseCoordinatorConfig(
      "allowed_ranges: [10.0.0.0/8]\n"
      "inventories:\n  cloud:\n    openstack: {auth_url: \"https://k:5000\", username: u, "
      "project_name: p}\n",
      "c.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  const std::string text = ExpectRoundTrip(*c);
  EXPECT_THAT(text, HasSubstr("      # password_file: unset: the password is read from "
                              "$GOALKEEPER_OPENSTACK_PASSWORD\n"));
  c->inventories["cloud"].openstack->password = "MARKER-PASSWORD-6a1f";  // as loaded at start
  EXPECT_THAT(FormatCoordinatorConfig(*c), Not(HasSubstr("MARKER-PASSWORD-6a1f")));
  EXPECT_THAT(FormatCoordinatorConfig(*c), Not(HasSubstr("password:")));
}

TEST(CoordinatorConfigFormatTest, ListsOneSecretPerOpenStackInventory) {
  absl::StatusOr<CoordinatorConfig> c = LoadCoordinatorConfig(FixturePath("example.yaml"));
  ASSERT_TRUE(c.ok()) << c.status();
  std::vector<SecretRef> secrets = CoordinatorSecrets(*c);
  ASSERT_EQ(secrets.size(), 1u);
  EXPECT_EQ(secrets[0].key, "inventories.cloud.openstack.password_file");
  EXPECT_EQ(secrets[0].file, "/run/secrets/openstack");
  EXPECT_EQ(secrets[0].env, "GOALKEEPER_OPENSTACK_PASSWORD");
  EXPECT_TRUE(secrets[0].required);
  absl::StatusOr<CoordinatorConfig> none = ParseCoordinatorConfig("{}", "flags");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(CoordinatorSecrets(*none).empty());
}

}  // namespace
}  // namespace goalkeeper
