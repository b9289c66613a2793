#include "notifier/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/targets.h"

namespace goalkeeper {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kSource[] = "notifier.yaml";

// tests/fixtures/notifier/, under the source tree.
std::string FixturePath(absl::string_view name) {
  return absl::StrCat(GOALKEEPER_SOURCE_DIR "/tests/fixtures/notifier/", name);
}

absl::StatusOr<NotifierConfig> Parse(absl::string_view yaml) {
  return ParseNotifierConfig(yaml, kSource);
}

// The error message of a config that must fail with InvalidArgument.
std::string ErrorOf(absl::string_view yaml) {
  absl::StatusOr<NotifierConfig> c = Parse(yaml);
  if (c.ok()) return "<parsed without error>";
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << c.status();
  return std::string(c.status().message());
}

// Every config needs ops.emails; error tests add the line under test after it.
constexpr char kBase[] = "ops: {emails: [noc@example.net]}\n";

absl::Time Utc(int y, int mo, int d, int h, int mi) {
  return absl::FromCivil(absl::CivilMinute(y, mo, d, h, mi), absl::UTCTimeZone());
}

// --- Valid configs ---------------------------------------------------------

TEST(NotifierConfigTest, ParsesTheHeaderExample) {
  absl::StatusOr<NotifierConfig> c = LoadNotifierConfig(FixturePath("example.yaml"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listen, "127.0.0.1:7071");
  EXPECT_EQ(c->db, "/var/lib/goalkeeper/notifier.db");
  EXPECT_EQ(c->metrics_listen, "0.0.0.0:9465");
  EXPECT_EQ(c->mode, NotifierMode::kStage);
  EXPECT_THAT(c->ops_emails, ElementsAre("noc@example.net"));
  EXPECT_EQ(c->ops_telegram_chat_id, "-100123");

  EXPECT_EQ(c->smtp_url, "smtp://mail.example.net:587");
  EXPECT_EQ(c->smtp_username, "goalkeeper");
  EXPECT_EQ(c->smtp_password_file, "/run/secrets/smtp");
  EXPECT_EQ(c->email_from, "goalkeeper@example.net");
  EXPECT_EQ(c->email_ca_file, "/etc/ssl/certs/ca-certificates.crt");
  EXPECT_EQ(c->outbox_dir, "./outbox");

  EXPECT_EQ(c->telegram_api_url, "https://api.telegram.org");
  EXPECT_EQ(c->telegram_token_file, "/run/secrets/telegram");

  ASSERT_EQ(c->static_owners.size(), 1u);
  const StaticOwner& acme = c->static_owners[0];
  EXPECT_EQ(acme.cidr, "198.51.100.0/28");
  EXPECT_EQ(acme.range, *ParseTargetSpec("198.51.100.0-198.51.100.15"));
  EXPECT_EQ(acme.name, "ACME");
  EXPECT_THAT(acme.emails, ElementsAre("sec@acme.example"));
  EXPECT_EQ(acme.telegram_chat_id, "-100456");

  EXPECT_TRUE(c->openstack_enabled);
  EXPECT_EQ(c->openstack.auth_url, "https://keystone.example.net:5000");
  EXPECT_EQ(c->openstack.username, "goalkeeper");
  EXPECT_EQ(c->openstack.user_domain_name, "Default");
  EXPECT_EQ(c->openstack.project_name, "admin");
  EXPECT_EQ(c->openstack.project_domain_name, "Default");
  EXPECT_EQ(c->openstack.password_file, "/run/secrets/openstack");
  EXPECT_EQ(c->openstack.interface, "public");
  EXPECT_EQ(c->openstack.region, "RegionOne");

  EXPECT_TRUE(c->fleio_enabled);
  EXPECT_EQ(c->fleio_url, "https://fleio.example.net");
  EXPECT_EQ(c->fleio_token_file, "/run/secrets/fleio");

  EXPECT_EQ(c->repeat_interval, absl::Hours(24 * 7));
  EXPECT_EQ(c->give_up_after, absl::Hours(24 * 3));
  EXPECT_FALSE(c->notify_closed);
  ASSERT_EQ(c->acknowledged.size(), 1u);
  const AcknowledgedExposure& ack = c->acknowledged[0];
  EXPECT_EQ(ack.ip, "198.51.100.7");
  EXPECT_EQ(ack.port, 22u);
  EXPECT_EQ(ack.until, Utc(2027, 1, 31, 0, 0));
  EXPECT_EQ(ack.reason, "bastion");
}

TEST(NotifierConfigTest, ParsesBlockStyleProdConfig) {
  absl::StatusOr<NotifierConfig> c = LoadNotifierConfig(FixturePath("block_style.yaml"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listen, "[::1]:0");
  EXPECT_EQ(c->metrics_listen, "");
  EXPECT_EQ(c->mode, NotifierMode::kProd);
  // An element holding several comma-separated addresses is split.
  EXPECT_THAT(c->ops_emails, ElementsAre("noc@example.net", "soc@example.net"));
  // An integer chat id is kept as its text.
  EXPECT_EQ(c->ops_telegram_chat_id, "-100123");
  EXPECT_EQ(c->smtp_url, "");
  EXPECT_EQ(c->outbox_dir, "/var/spool/goalkeeper");
  EXPECT_EQ(c->telegram_api_url, "http://127.0.0.1:8081/telegram");

  ASSERT_EQ(c->static_owners.size(), 3u);
  EXPECT_EQ(c->static_owners[0].name, "ACME");
  EXPECT_THAT(c->static_owners[0].emails, ElementsAre("sec@acme.example", "ops@acme.example"));
  EXPECT_EQ(c->static_owners[0].telegram_chat_id, "");
  EXPECT_EQ(c->static_owners[1].cidr, "2001:db8::/48");
  EXPECT_EQ(c->static_owners[1].range.family, Family::kIPv6);
  EXPECT_EQ(c->static_owners[1].name, "Beta Corp");
  EXPECT_TRUE(c->static_owners[1].emails.empty());
  EXPECT_EQ(c->static_owners[1].telegram_chat_id, "4242");
  EXPECT_EQ(c->static_owners[2].range, *ParseTargetSpec("192.0.2.10-192.0.2.20"));
  EXPECT_THAT(c->static_owners[2].emails, ElementsAre("abuse@gamma.example"));

  EXPECT_FALSE(c->openstack_enabled);
  EXPECT_FALSE(c->fleio_enabled);

  EXPECT_EQ(c->repeat_interval, absl::Hours(36));
  EXPECT_EQ(c->give_up_after, absl::Minutes(90));
  EXPECT_TRUE(c->notify_closed);
  ASSERT_EQ(c->acknowledged.size(), 2u);
  // Addresses are kept in canonical form, as findings print them.
  EXPECT_EQ(c->acknowledged[0].ip, "2001:db8::7");
  EXPECT_EQ(c->acknowledged[0].port, 443u);
  EXPECT_EQ(c->acknowledged[0].until, Utc(2026, 6, 1, 10, 30));
  EXPECT_EQ(c->acknowledged[0].reason, "");
  EXPECT_EQ(c->acknowledged[1].ip, "192.0.2.11");
  EXPECT_EQ(c->acknowledged[1].reason, "jump host");
}

TEST(NotifierConfigTest, UsesDefaultsForAbsentKeys) {
  absl::StatusOr<NotifierConfig> c = Parse(kBase);
  ASSERT_TRUE(c.ok()) << c.status();
  const NotifierConfig defaults;
  EXPECT_EQ(c->listen, defaults.listen);
  EXPECT_EQ(c->db, defaults.db);
  EXPECT_EQ(c->metrics_listen, defaults.metrics_listen);
  EXPECT_EQ(c->mode, NotifierMode::kStage);
  EXPECT_EQ(c->ops_telegram_chat_id, "");
  EXPECT_EQ(c->smtp_url, "");
  EXPECT_EQ(c->smtp_username, "");
  EXPECT_EQ(c->smtp_password_file, "");
  EXPECT_EQ(c->email_from, "goalkeeper@localhost.localdomain");
  EXPECT_EQ(c->email_ca_file, "");
  EXPECT_EQ(c->outbox_dir, "./outbox");
  EXPECT_EQ(c->telegram_api_url, "https://api.telegram.org");
  EXPECT_EQ(c->telegram_token_file, "");
  EXPECT_TRUE(c->static_owners.empty());
  EXPECT_FALSE(c->openstack_enabled);
  EXPECT_EQ(c->openstack.user_domain_name, "Default");
  EXPECT_EQ(c->openstack.project_domain_name, "Default");
  EXPECT_EQ(c->openstack.interface, "public");
  EXPECT_FALSE(c->fleio_enabled);
  EXPECT_EQ(c->repeat_interval, absl::Hours(24 * 7));
  EXPECT_EQ(c->give_up_after, absl::Hours(24 * 3));
  EXPECT_FALSE(c->notify_closed);
  EXPECT_TRUE(c->acknowledged.empty());
}

TEST(NotifierConfigTest, EmptySectionsKeepDefaults) {
  absl::StatusOr<NotifierConfig> c = Parse(absl::StrCat(kBase, R"yaml(email:
telegram: {}
owners:
  static: []
notify: {acknowledged: }
)yaml"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->outbox_dir, "./outbox");
  EXPECT_EQ(c->telegram_api_url, "https://api.telegram.org");
  EXPECT_TRUE(c->static_owners.empty());
  EXPECT_FALSE(c->openstack_enabled);
  EXPECT_TRUE(c->acknowledged.empty());
}

TEST(NotifierConfigTest, OpenStackKeepsDefaultsForOptionalKeys) {
  absl::StatusOr<NotifierConfig> c = Parse(absl::StrCat(kBase, R"yaml(owners:
  openstack: {auth_url: "http://[2001:db8::5]:5000/v3", username: gk, project_name: p,
              interface: internal}
)yaml"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->openstack_enabled);
  EXPECT_EQ(c->openstack.auth_url, "http://[2001:db8::5]:5000/v3");
  EXPECT_EQ(c->openstack.user_domain_name, "Default");
  EXPECT_EQ(c->openstack.project_domain_name, "Default");
  EXPECT_EQ(c->openstack.interface, "internal");
  EXPECT_EQ(c->openstack.region, "");
  EXPECT_EQ(c->openstack.password_file, "");
  EXPECT_FALSE(c->fleio_enabled);
}

TEST(NotifierConfigTest, AcceptsDurationForms) {
  const struct {
    const char* text;
    absl::Duration want;
  } kCases[] = {{"7d", absl::Hours(168)},       {"1d", absl::Hours(24)},
                {"36h", absl::Hours(36)},       {"90m", absl::Minutes(90)},
                {"45s", absl::Seconds(45)},     {"1h30m", absl::Minutes(90)},
                {"1.5h", absl::Minutes(90)},    {"500ms", absl::Milliseconds(500)},
                {"365d", absl::Hours(24 * 365)}};
  for (const auto& c : kCases) {
    absl::StatusOr<NotifierConfig> config =
        Parse(absl::StrCat(kBase, "notify: {repeat_interval: ", c.text, "}\n"));
    ASSERT_TRUE(config.ok()) << c.text << ": " << config.status();
    EXPECT_EQ(config->repeat_interval, c.want) << c.text;
  }
}

TEST(NotifierConfigTest, AcceptsUrlShapes) {
  for (const char* url :
       {"https://api.telegram.org", "http://127.0.0.1:8081", "HTTPS://Example.com/bot/",
        "https://[::1]/x?y=1", "https://[2001:db8::1]:8443", "http://localhost"}) {
    absl::StatusOr<NotifierConfig> c =
        Parse(absl::StrCat(kBase, "telegram: {api_url: \"", url, "\"}\n"));
    ASSERT_TRUE(c.ok()) << url << ": " << c.status();
    EXPECT_EQ(c->telegram_api_url, url);
  }
  for (const char* url : {"smtp://mail.example.net", "smtps://mail.example.net:465",
                          "smtp://10.0.0.25:25/goalkeeper.example.net"}) {
    absl::StatusOr<NotifierConfig> c =
        Parse(absl::StrCat(kBase, "email: {smtp_url: \"", url, "\"}\n"));
    ASSERT_TRUE(c.ok()) << url << ": " << c.status();
    EXPECT_EQ(c->smtp_url, url);
  }
}

TEST(NotifierConfigTest, AcceptsChatIdsAsNumbersOrStrings) {
  for (const char* id : {"-100123", "\"-100123\"", "42", "'@goalkeeper_alerts'"}) {
    absl::StatusOr<NotifierConfig> c =
        Parse(absl::StrCat("ops: {emails: [a@b.cd], telegram_chat_id: ", id, "}\n"));
    ASSERT_TRUE(c.ok()) << id << ": " << c.status();
  }
  EXPECT_EQ(
      Parse("ops: {emails: [a@b.cd], telegram_chat_id: -1001234567890}\n")->ops_telegram_chat_id,
      "-1001234567890");
}

// --- Structure errors ------------------------------------------------------

TEST(NotifierConfigTest, RejectsUnknownKeysWithTheirLine) {
  EXPECT_EQ(ErrorOf("listen: 0.0.0.0:7071\ndb: x.db\nmdoe: prod\n"),
            "notifier.yaml:3: unknown key 'mdoe'");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "email:\n  from: a@b.cd\n  smtp_ulr: smtp://x\n")),
            "notifier.yaml:4: unknown key 'smtp_ulr' in email");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase,
                                 "owners:\n  static:\n    - {cidr: 10.0.0.0/8, name: a, "
                                 "email: [a@b.cd]}\n")),
            "notifier.yaml:4: unknown key 'email' in owners.static[0]");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "owners:\n  keystone: {}\n")),
            "notifier.yaml:3: unknown key 'keystone' in owners");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase,
                                 "owners:\n  openstack:\n    auth_url: https://k\n"
                                 "    project: admin\n")),
            "notifier.yaml:5: unknown key 'project' in owners.openstack");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase,
                                 "notify:\n  acknowledged:\n    - ip: 10.0.0.1\n"
                                 "      port: 22\n      expires: 2027-01-01T00:00:00Z\n")),
            "notifier.yaml:6: unknown key 'expires' in notify.acknowledged[0]");
  EXPECT_EQ(ErrorOf("ops: {emails: [a@b.cd], chat_id: 1}\n"),
            "notifier.yaml:1: unknown key 'chat_id' in ops");
}

TEST(NotifierConfigTest, RejectsDuplicateKeys) {
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "mode: stage\ndb: a\nmode: prod\n")),
            "notifier.yaml:4: duplicate key 'mode'");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "telegram: {token_file: a, token_file: b}\n")),
            "notifier.yaml:2: duplicate key 'token_file' in telegram");
}

TEST(NotifierConfigTest, RejectsYamlThatIsNotOneMap) {
  EXPECT_EQ(ErrorOf(""), "notifier.yaml: the config is empty: expected a map of settings");
  EXPECT_EQ(ErrorOf("- mode: prod\n"),
            "notifier.yaml:1: expected a map of settings at the top level, got a list");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "---\nmode: prod\n")),
            "notifier.yaml:2: more than one YAML document: expected a single map of settings");
  EXPECT_EQ(ErrorOf(","), "notifier.yaml:1: invalid YAML: column 1: unexpected ','");
  EXPECT_EQ(ErrorOf("mode: stage\n  ops: [a\n"),
            "notifier.yaml:2: invalid YAML: column 6: illegal map value");
}

// --- Type and value errors -------------------------------------------------

TEST(NotifierConfigTest, RejectsWrongTypesNamingPathAndValue) {
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "email: [smtp://x]\n")),
            "notifier.yaml:2: email: expected a map, got a list");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "email:\n  username: [a, b]\n")),
            "notifier.yaml:3: email.username: expected a string, got a list");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "email:\n  password_file:\n")),
            "notifier.yaml:3: email.password_file: expected a string, got an empty value");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "notify: {notify_closed: yes}\n")),
            "notifier.yaml:2: notify.notify_closed: expected true or false, got 'yes'");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "owners: {static: {cidr: 10.0.0.0/8}}\n")),
            "notifier.yaml:2: owners.static: expected a list, got a map (a list of owners)");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "owners: {static: [10.0.0.0/8]}\n")),
            "notifier.yaml:2: owners.static[0]: expected a map, got '10.0.0.0/8'");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "notify: {acknowledged: {ip: 10.0.0.1}}\n")),
            "notifier.yaml:2: notify.acknowledged: expected a list, got a map (a list of "
            "acknowledged exposures)");
  EXPECT_EQ(ErrorOf("ops: {emails: {noc: a@b.cd}}\n"),
            "notifier.yaml:1: ops.emails: expected a list, got a map (a list of email "
            "addresses)");
  EXPECT_EQ(ErrorOf("ops: {emails: [[a@b.cd]]}\n"),
            "notifier.yaml:1: ops.emails: expected an email address, got a list");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "db: ''\n")), "notifier.yaml:2: db: must not be empty");
}

TEST(NotifierConfigTest, RejectsBadMode) {
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "mode: production\n")),
            "notifier.yaml:2: mode: expected stage or prod, got 'production'");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "mode: Prod\n")),
            "notifier.yaml:2: mode: expected stage or prod, got 'Prod'");
}

TEST(NotifierConfigTest, RejectsMalformedListenAddresses) {
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "listen: 0.0.0.0\n")),
            "notifier.yaml:2: listen: expected host:port with port 0-65535 (IPv6 as "
            "\"[::1]:7070\"), got '0.0.0.0'");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "metrics_listen: 9465\n")),
            "notifier.yaml:2: metrics_listen: expected host:port with port 0-65535 (IPv6 as "
            "\"[::1]:7070\") or \"\", got '9465'");
}

TEST(NotifierConfigTest, RejectsBadUrlSchemes) {
  // The header's own example, on the header's line 7.
  EXPECT_EQ(ErrorOf("listen: 127.0.0.1:7071\ndb: x.db\nmetrics_listen: ''\nmode: stage\n"
                    "ops: {emails: [noc@example.net]}\nemail:\n  smtp_url: smpt://x\n"),
            "notifier.yaml:7: email.smtp_url: 'smpt://x' is not an smtp:// or smtps:// URL");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "email: {smtp_url: 'https://mail.example.net'}\n")),
            "notifier.yaml:2: email.smtp_url: 'https://mail.example.net' is not an smtp:// or "
            "smtps:// URL");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "telegram: {api_url: 'ftp://api.telegram.org'}\n")),
            "notifier.yaml:2: telegram.api_url: 'ftp://api.telegram.org' is not an http:// or "
            "https:// URL");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "owners:\n  fleio: {url: fleio.example.net}\n")),
            "notifier.yaml:3: owners.fleio.url: 'fleio.example.net' is not an http:// or "
            "https:// URL");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase,
                                 "owners:\n  openstack:\n    auth_url: keystone:5000\n"
                                 "    username: u\n    project_name: p\n")),
            "notifier.yaml:4: owners.openstack.auth_url: 'keystone:5000' is not an http:// or "
            "https:// URL");
}

TEST(NotifierConfigTest, RejectsUrlsWithoutAValidHost) {
  for (const char* url : {"https://", "https:///path", "https://exa mple.com", "https://:443",
                          "https://host:0", "https://host:99999", "https://10.0.0.300",
                          "https://[::1", "https://[10.0.0.1]:80", "https://::1:80"}) {
    EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "telegram: {api_url: \"", url, "\"}\n")),
              absl::StrCat("notifier.yaml:2: telegram.api_url: '", url,
                           "' is not an http:// or https:// URL"));
  }
}

TEST(NotifierConfigTest, RejectsCredentialsInUrlsWithoutQuotingThem) {
  const std::string e =
      ErrorOf(absl::StrCat(kBase, "email: {smtp_url: 'smtp://gk:hunter2@mail.example.net'}\n"));
  EXPECT_EQ(e,
            "notifier.yaml:2: email.smtp_url: credentials (user:password@) do not belong in the "
            "URL; use email.username and email.password_file");
  EXPECT_THAT(e, Not(HasSubstr("hunter2")));
  EXPECT_THAT(ErrorOf(absl::StrCat(kBase, "owners: {fleio: {url: 'https://t0ken@fleio.x'}}\n")),
              Not(HasSubstr("t0ken")));
  // Also when the URL is wrong otherwise.
  for (const char* url : {"smpt://gk:hunter2@mail.example.net", "gk:hunter2@mail.example.net",
                          "smtp://gk:hunter2 @mail"}) {
    EXPECT_THAT(ErrorOf(absl::StrCat(kBase, "email: {smtp_url: '", url, "'}\n")),
                AllOf(HasSubstr("credentials (user:password@) do not belong in the URL"),
                      Not(HasSubstr("hunter2"))))
        << url;
  }
}

TEST(NotifierConfigTest, EveryListKeyGivenAScalarIsAnErrorNamingTheKeyAndLine) {
  EXPECT_EQ(ErrorOf("mode: stage\nops: {emails: noc@example.net}\n"),
            "notifier.yaml:2: ops.emails: expected a list, got a scalar 'noc@example.net' (a "
            "list of email addresses, e.g. [noc@example.net])");
  EXPECT_EQ(ErrorOf("ops: {emails: 'noc@example.net, soc@example.net'}\n"),
            "notifier.yaml:1: ops.emails: expected a list, got a scalar 'noc@example.net, "
            "soc@example.net' (a list of email addresses)");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase,
                                 "owners:\n  static:\n    - cidr: 10.0.0.0/8\n"
                                 "      name: a\n      emails: a@b.cd\n")),
            "notifier.yaml:6: owners.static[0].emails: expected a list, got a scalar 'a@b.cd' (a "
            "list of email addresses, e.g. [a@b.cd])");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "owners: {static: 10.0.0.0/8}\n")),
            "notifier.yaml:2: owners.static: expected a list, got a scalar '10.0.0.0/8' (a list "
            "of owners, e.g. [10.0.0.0/8])");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "notify: {acknowledged: 10.0.0.1}\n")),
            "notifier.yaml:2: notify.acknowledged: expected a list, got a scalar '10.0.0.1' (a "
            "list of acknowledged exposures, e.g. [10.0.0.1])");
}

TEST(NotifierConfigTest, RejectsBadEmails) {
  for (const char* bad :
       {"noc", "noc@localhost", "noc@@example.net", "a@b@example.net", "@example.net",
        "noc@.example.net", "noc@example.net.", "noc@example..net", "<noc@example.net>"}) {
    EXPECT_EQ(ErrorOf(absl::StrCat("ops:\n  emails:\n    - '", bad, "'\n")),
              absl::StrCat("notifier.yaml:3: ops.emails: '", bad,
                           "' is not an email address (local@domain)"));
  }
  EXPECT_EQ(ErrorOf("ops: {emails: ['noc@example.net, soc at example.net']}\n"),
            "notifier.yaml:1: ops.emails: 'soc at example.net' is not an email address "
            "(local@domain)");
  EXPECT_EQ(ErrorOf("ops: {emails: ['noc@example.net,,soc@example.net']}\n"),
            "notifier.yaml:1: ops.emails: empty email address in "
            "'noc@example.net,,soc@example.net'");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "email: {from: 'Goalkeeper <gk@example.net>'}\n")),
            "notifier.yaml:2: email.from: 'Goalkeeper <gk@example.net>' is not an email address "
            "(local@domain)");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase,
                                 "owners:\n  static:\n    - cidr: 10.0.0.0/8\n"
                                 "      name: a\n      emails: [a@b.cd, 'x y@b.cd']\n")),
            "notifier.yaml:6: owners.static[0].emails: 'x y@b.cd' is not an email address "
            "(local@domain)");
}

TEST(NotifierConfigTest, RejectsBadChatIds) {
  for (const char* bad : {"abc", "'-'", "'12a'", "'@ab'", "99999999999999999999", "'+5'", "''"}) {
    EXPECT_THAT(ErrorOf(absl::StrCat("ops: {emails: [a@b.cd], telegram_chat_id: ", bad, "}\n")),
                StartsWith("notifier.yaml:1: ops.telegram_chat_id: expected a Telegram chat id "
                           "(a number such as -100123, or @channelname), got "))
        << bad;
  }
  EXPECT_EQ(ErrorOf("ops: {emails: [a@b.cd], telegram_chat_id: [1]}\n"),
            "notifier.yaml:1: ops.telegram_chat_id: expected a Telegram chat id (a number such "
            "as -100123, or @channelname), got a list");
}

TEST(NotifierConfigTest, RejectsBadStaticOwners) {
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase,
                                 "owners:\n  static:\n    - cidr: 198.51.100.0/33\n"
                                 "      name: ACME\n      emails: [a@b.cd]\n")),
            "notifier.yaml:4: owners.static[0].cidr: '198.51.100.0/33': prefix length /33 exceeds "
            "32 bits");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase,
                                 "owners:\n  static:\n    - {cidr: 10.0.0.300/24, name: "
                                 "ACME, emails: [a@b.cd]}\n")),
            "notifier.yaml:4: owners.static[0].cidr: '10.0.0.300/24' is not an IPv4/IPv6 "
            "address, range or CIDR");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase,
                                 "owners:\n  static:\n    - {cidr: 10.0.0.0/8, name: a, "
                                 "emails: [a@b.cd]}\n    - {cidr: '@owners.txt', name: b,"
                                 " emails: [a@b.cd]}\n")),
            "notifier.yaml:5: owners.static[1].cidr: '@owners.txt' is not an IPv4/IPv6 address, "
            "range or CIDR");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "owners:\n  static:\n    - {name: a, emails: [a@b.cd]}\n")),
            "notifier.yaml:4: owners.static[0]: missing required key 'cidr'");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase,
                                 "owners:\n  static:\n    - {cidr: 10.0.0.1, emails: "
                                 "[a@b.cd]}\n")),
            "notifier.yaml:4: owners.static[0]: missing required key 'name'");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "owners:\n  static:\n    - {cidr: 10.0.0.1, name: a}\n")),
            "notifier.yaml:4: owners.static[0]: needs emails or telegram_chat_id: there is no "
            "one to notify");
}

TEST(NotifierConfigTest, RejectsBadDurations) {
  for (const char* bad :
       {"0s", "0d", "-1h", "7", "7 days", "1.5d", "d", "inf", "1w", "1000000d", "7D"}) {
    EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "notify:\n  repeat_interval: '", bad, "'\n")),
              absl::StrCat("notifier.yaml:3: notify.repeat_interval: expected a duration > 0 "
                           "such as 7d, 36h, 90m or 45s, got '",
                           bad, "'"));
  }
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "notify: {give_up_after: [3d]}\n")),
            "notifier.yaml:2: notify.give_up_after: expected a duration > 0 such as 7d, 36h, "
            "90m or 45s, got a list");
}

TEST(NotifierConfigTest, RequiresOpsEmailsInBothModes) {
  EXPECT_EQ(ErrorOf("mode: prod\n"),
            "notifier.yaml:1: ops.emails: mode prod needs at least one address (owner NOT FOUND "
            "reports go there)");
  EXPECT_EQ(ErrorOf("mode: prod\nops:\n  telegram_chat_id: -1\n  emails: []\n"),
            "notifier.yaml:4: ops.emails: mode prod needs at least one address (owner NOT FOUND "
            "reports go there)");
  EXPECT_EQ(ErrorOf("mode: stage\nops: {telegram_chat_id: -1}\n"),
            "notifier.yaml:2: ops.emails: mode stage needs at least one address (every email goes "
            "there instead of to owners)");
  EXPECT_EQ(ErrorOf("db: x.db\n"),
            "notifier.yaml: ops.emails: mode stage (the default) needs at least one address "
            "(every email goes there instead of to owners)");
}

TEST(NotifierConfigTest, RequiresOpenStackAndFleioEssentials) {
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase,
                                 "owners:\n  openstack:\n    username: gk\n"
                                 "    project_name: admin\n")),
            "notifier.yaml:4: owners.openstack: missing required key 'auth_url'");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase,
                                 "owners:\n  openstack: {auth_url: 'https://k:5000', "
                                 "project_name: admin}\n")),
            "notifier.yaml:3: owners.openstack: missing required key 'username'");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase,
                                 "owners:\n  openstack: {auth_url: 'https://k:5000', "
                                 "username: gk}\n")),
            "notifier.yaml:3: owners.openstack: missing required key 'project_name'");
  // Present but empty still enables the source, so it must be complete.
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "owners:\n  openstack:\n")),
            "notifier.yaml:3: owners.openstack: missing required key 'auth_url'");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "owners:\n  fleio: {token_file: /run/t}\n")),
            "notifier.yaml:3: owners.fleio: missing required key 'url'");
}

TEST(NotifierConfigTest, RejectsBadOpenStackInterface) {
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase,
                                 "owners:\n  openstack:\n    auth_url: https://k\n"
                                 "    username: gk\n    project_name: admin\n"
                                 "    interface: private\n")),
            "notifier.yaml:7: owners.openstack.interface: expected public, internal or admin, "
            "got 'private'");
}

TEST(NotifierConfigTest, RejectsBadAcknowledgements) {
  const auto ack = [](absl::string_view fields) {
    return ErrorOf(absl::StrCat(kBase, "notify:\n  acknowledged:\n    - {", fields, "}\n"));
  };
  EXPECT_EQ(ack("ip: 10.0.0.300, port: 22, until: '2027-01-31T00:00:00Z'"),
            "notifier.yaml:4: notify.acknowledged[0].ip: expected an IPv4 or IPv6 address, got "
            "'10.0.0.300'");
  EXPECT_EQ(ack("ip: 10.0.0.0/24, port: 22, until: '2027-01-31T00:00:00Z'"),
            "notifier.yaml:4: notify.acknowledged[0].ip: expected an IPv4 or IPv6 address, got "
            "'10.0.0.0/24'");
  EXPECT_EQ(ack("ip: 10.0.0.1, port: 0, until: '2027-01-31T00:00:00Z'"),
            "notifier.yaml:4: notify.acknowledged[0].port: expected a whole number 1..65535, got "
            "'0'");
  EXPECT_EQ(ack("ip: 10.0.0.1, port: ssh, until: '2027-01-31T00:00:00Z'"),
            "notifier.yaml:4: notify.acknowledged[0].port: expected a whole number 1..65535, got "
            "'ssh'");
  for (const char* bad : {"2027-01-31", "2027-01-31 00:00:00", "2027-01-31T00:00:00", "31/01/2027",
                          "2027-02-30T00:00:00Z", "infinite-future"}) {
    EXPECT_EQ(ack(absl::StrCat("ip: 10.0.0.1, port: 22, until: '", bad, "'")),
              absl::StrCat("notifier.yaml:4: notify.acknowledged[0].until: expected an RFC 3339 "
                           "time such as \"2027-01-31T00:00:00Z\", got '",
                           bad, "'"));
  }
  EXPECT_EQ(ack("ip: 10.0.0.1, until: '2027-01-31T00:00:00Z'"),
            "notifier.yaml:4: notify.acknowledged[0]: missing required key 'port'");
  EXPECT_EQ(ack("ip: 10.0.0.1, port: 22"),
            "notifier.yaml:4: notify.acknowledged[0]: missing required key 'until'");
  EXPECT_EQ(ack("port: 22, until: '2027-01-31T00:00:00Z'"),
            "notifier.yaml:4: notify.acknowledged[0]: missing required key 'ip'");
}

TEST(NotifierConfigTest, QuotesLongValuesCut) {
  const std::string e = ErrorOf(absl::StrCat(kBase, "mode: ", std::string(500, 'x'), "\n"));
  EXPECT_THAT(e, HasSubstr(absl::StrCat("got '", std::string(100, 'x'), "...'")));
  EXPECT_LT(e.size(), 250u);
}

// --- Files -----------------------------------------------------------------

TEST(NotifierConfigTest, LoadReportsAMissingFile) {
  absl::StatusOr<NotifierConfig> c = LoadNotifierConfig("/nonexistent/gk/notifier.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(c.status().message()),
            "cannot read config file '/nonexistent/gk/notifier.yaml': No such file or directory");
}

TEST(NotifierConfigTest, LoadNamesTheFileInErrors) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/gk_notifier_config_test.yaml");
  {
    std::ofstream out(path);
    out << kBase << "email:\n  smtp_url: smpt://x\n";
  }
  absl::StatusOr<NotifierConfig> c = LoadNotifierConfig(path);
  std::remove(path.c_str());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(std::string(c.status().message()),
            absl::StrCat(path, ":3: email.smtp_url: 'smpt://x' is not an smtp:// or smtps:// URL"));
}

}  // namespace
}  // namespace goalkeeper
