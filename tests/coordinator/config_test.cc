#include "coordinator/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"

namespace goalkeeper {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

constexpr char kSource[] = "coordinator.yaml";

// tests/fixtures/coordinator/, under the source tree.
std::string FixturePath(absl::string_view name) {
  return absl::StrCat(GOALKEEPER_SOURCE_DIR "/tests/fixtures/coordinator/", name);
}

absl::StatusOr<CoordinatorConfig> Parse(absl::string_view yaml) {
  return ParseCoordinatorConfig(yaml, kSource);
}

// The error message of a config that must fail with InvalidArgument.
std::string ErrorOf(absl::string_view yaml) {
  absl::StatusOr<CoordinatorConfig> c = Parse(yaml);
  if (c.ok()) return "<parsed without error>";
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << c.status();
  return std::string(c.status().message());
}

// A valid base that error tests change one line of.
constexpr char kBase[] = R"yaml(allowed_ranges: [10.0.0.0/8]
inventories:
  prod: {targets: [10.1.0.0/16]}
)yaml";

// --- Valid configs ---------------------------------------------------------

TEST(CoordinatorConfigTest, ParsesTheHeaderExample) {
  absl::StatusOr<CoordinatorConfig> c = LoadCoordinatorConfig(FixturePath("example.yaml"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listen, "0.0.0.0:7070");
  EXPECT_EQ(c->db, "/var/lib/goalkeeper/coordinator.db");
  EXPECT_EQ(c->metrics_listen, "0.0.0.0:9464");
  EXPECT_THAT(c->allowed_ranges, ElementsAre("198.51.100.0/24", "2001:db8::/48"));
  ASSERT_EQ(c->inventories.size(), 2u);
  const InventoryConfig& prod = c->inventories.at("prod");
  EXPECT_THAT(prod.targets, ElementsAre("198.51.100.0/25"));
  EXPECT_THAT(prod.exclude, ElementsAre("198.51.100.1"));
  EXPECT_FALSE(prod.openstack.has_value());
  const InventoryConfig& cloud = c->inventories.at("cloud");
  EXPECT_TRUE(cloud.targets.empty());
  EXPECT_THAT(cloud.exclude, ElementsAre("198.51.100.77"));
  ASSERT_TRUE(cloud.openstack.has_value());
  EXPECT_EQ(cloud.openstack->auth_url, "https://keystone.example.net:5000");
  EXPECT_EQ(cloud.openstack->username, "goalkeeper");
  EXPECT_EQ(cloud.openstack->user_domain_name, "Default");
  EXPECT_EQ(cloud.openstack->project_name, "admin");
  EXPECT_EQ(cloud.openstack->project_domain_name, "Default");
  EXPECT_EQ(cloud.openstack->password_file, "/run/secrets/openstack");
  EXPECT_EQ(cloud.openstack->interface, "public");
  EXPECT_EQ(cloud.openstack->region, "RegionOne");
  ASSERT_EQ(c->profiles.size(), 1u);
  const ProfileConfig& def = c->profiles.at("default");
  EXPECT_EQ(def.ports, "databases,admin");
  EXPECT_EQ(def.timeout_ms, 500u);
  EXPECT_EQ(def.retries, 1u);
  EXPECT_EQ(def.rate, 20000);
  ASSERT_EQ(c->schedules.size(), 1u);
  const ScheduleSpec& s = c->schedules[0];
  EXPECT_EQ(s.name, "prod-daily");
  EXPECT_EQ(s.cron, "0 3 * * *");
  EXPECT_EQ(s.timezone, "Europe/Bucharest");
  EXPECT_EQ(s.inventory, "prod");
  EXPECT_EQ(s.profile, "default");
  EXPECT_EQ(c->notifier_address, "127.0.0.1:7071");
  EXPECT_EQ(c->lease.ttl_seconds, 30u);
  EXPECT_EQ(c->lease.heartbeat_seconds, 5u);
  EXPECT_EQ(c->lease.shard_seconds, 5);
  EXPECT_EQ(c->limits.max_probes_per_scan, uint64_t{1} << 32);
}

TEST(CoordinatorConfigTest, ParsesBlockStyleWithSeveralEntries) {
  absl::StatusOr<CoordinatorConfig> c = LoadCoordinatorConfig(FixturePath("block_style.yaml"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listen, "[::1]:0");
  EXPECT_EQ(c->metrics_listen, "");
  // A comma-separated element is split into specs.
  EXPECT_THAT(c->allowed_ranges, ElementsAre("10.0.0.0/8", "192.0.2.0/24", "2001:db8::/32"));
  EXPECT_THAT(c->inventories.at("office").targets, ElementsAre("10.1.0.0/16"));
  EXPECT_THAT(c->inventories.at("office").exclude, ElementsAre("10.1.0.1", "10.1.0.2-10"));
  EXPECT_THAT(c->inventories.at("lab").targets, ElementsAre("192.0.2.0/25", "2001:db8:1::/120"));
  EXPECT_TRUE(c->inventories.at("lab").exclude.empty());
  // The built-in default profile stays beside the file's own.
  ASSERT_EQ(c->profiles.size(), 3u);
  EXPECT_EQ(c->profiles.at("default").ports, "dangerous");
  const ProfileConfig& fast = c->profiles.at("fast");
  EXPECT_EQ(fast.ports, "22,80,443,8000-8100");
  EXPECT_EQ(fast.timeout_ms, 200u);
  EXPECT_EQ(fast.retries, 0u);
  EXPECT_EQ(fast.rate, 0);
  const ProfileConfig& thorough = c->profiles.at("thorough");
  EXPECT_EQ(thorough.ports, "all");
  EXPECT_EQ(thorough.timeout_ms, 500u);
  EXPECT_EQ(thorough.retries, 1u);
  EXPECT_EQ(thorough.rate, 1500.5);
  ASSERT_EQ(c->schedules.size(), 2u);
  EXPECT_EQ(c->schedules[0].name, "office-hourly");
  EXPECT_EQ(c->schedules[0].timezone, "");
  EXPECT_EQ(c->schedules[0].profile, "fast");
  EXPECT_EQ(c->schedules[1].name, "lab-weekly");
  EXPECT_EQ(c->schedules[1].timezone, "UTC");
  EXPECT_EQ(c->schedules[1].profile, "default");
  EXPECT_EQ(c->notifier_address, "localhost:7071");
  EXPECT_EQ(c->lease.ttl_seconds, 60u);
  EXPECT_EQ(c->lease.heartbeat_seconds, 10u);
  EXPECT_EQ(c->lease.shard_seconds, 2.5);
  EXPECT_EQ(c->lease.confirm_wait_seconds, 0.5);
}

TEST(CoordinatorConfigTest, UsesDefaultsForAbsentKeys) {
  absl::StatusOr<CoordinatorConfig> c = Parse("db: gk.db\n");
  ASSERT_TRUE(c.ok()) << c.status();
  const CoordinatorConfig defaults;
  EXPECT_EQ(c->listen, defaults.listen);
  EXPECT_EQ(c->db, "gk.db");
  EXPECT_EQ(c->metrics_listen, defaults.metrics_listen);
  EXPECT_TRUE(c->allowed_ranges.empty());
  EXPECT_TRUE(c->inventories.empty());
  ASSERT_EQ(c->profiles.size(), 1u);
  const ProfileConfig& def = c->profiles.at("default");
  EXPECT_EQ(def.ports, "dangerous");
  EXPECT_EQ(def.timeout_ms, 500u);
  EXPECT_EQ(def.retries, 1u);
  EXPECT_EQ(def.rate, 0);
  EXPECT_TRUE(c->schedules.empty());
  EXPECT_EQ(c->notifier_address, "");
  EXPECT_EQ(c->lease.ttl_seconds, 30u);
  EXPECT_EQ(c->lease.heartbeat_seconds, 5u);
  EXPECT_EQ(c->lease.shard_seconds, 5);
}

TEST(CoordinatorConfigTest, EmptySectionsAndPartialMapsKeepDefaults) {
  absl::StatusOr<CoordinatorConfig> c = Parse(R"yaml(allowed_ranges:
inventories:
profiles:
  quick: {timeout_ms: 50}
  blank:
schedules: []
notifier: {}
lease: {shard_seconds: 0.5}
)yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->allowed_ranges.empty());
  EXPECT_TRUE(c->inventories.empty());
  ASSERT_EQ(c->profiles.size(), 3u);
  EXPECT_EQ(c->profiles.at("quick").timeout_ms, 50u);
  EXPECT_EQ(c->profiles.at("quick").ports, "dangerous");
  EXPECT_EQ(c->profiles.at("blank").timeout_ms, 500u);
  EXPECT_EQ(c->notifier_address, "");
  EXPECT_EQ(c->lease.ttl_seconds, 30u);
  EXPECT_EQ(c->lease.shard_seconds, 0.5);
}

TEST(CoordinatorConfigTest, FileMayRedefineTheDefaultProfile) {
  absl::StatusOr<CoordinatorConfig> c = Parse("profiles: {default: {ports: '22'}}\n");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->profiles.size(), 1u);
  EXPECT_EQ(c->profiles.at("default").ports, "22");
  EXPECT_EQ(c->profiles.at("default").timeout_ms, 500u);
}

TEST(CoordinatorConfigTest, EveryListKeyGivenAScalarIsAnErrorNamingTheKeyAndLine) {
  // The README promises wrong types are errors: a list key takes a list.
  EXPECT_EQ(ErrorOf("listen: 0.0.0.0:7070\ndb: x.db\nallowed_ranges: 127.0.0.0/8\n"),
            "coordinator.yaml:3: allowed_ranges: expected a list, got a scalar '127.0.0.0/8' (a "
            "list of target specs, e.g. [127.0.0.0/8])");
  EXPECT_EQ(ErrorOf("allowed_ranges: \"10.0.0.0/8, 192.0.2.0/24\"\n"),
            "coordinator.yaml:1: allowed_ranges: expected a list, got a scalar '10.0.0.0/8, "
            "192.0.2.0/24' (a list of target specs)");
  EXPECT_EQ(ErrorOf("allowed_ranges: [10.0.0.0/8]\ninventories:\n  a: {targets: 10.0.0.1}\n"),
            "coordinator.yaml:3: inventories.a.targets: expected a list, got a scalar '10.0.0.1' "
            "(a list of target specs, e.g. [10.0.0.1])");
  EXPECT_EQ(ErrorOf("allowed_ranges: [10.0.0.0/8]\ninventories:\n  a:\n    targets: [10.0.0.1]\n"
                    "    exclude: 10.0.0.7\n"),
            "coordinator.yaml:5: inventories.a.exclude: expected a list, got a scalar '10.0.0.7' "
            "(a list of target specs, e.g. [10.0.0.7])");
  EXPECT_EQ(ErrorOf("schedules: nightly\n"),
            "coordinator.yaml:1: schedules: expected a list, got a scalar 'nightly' (a list of "
            "schedules, e.g. [nightly])");
  EXPECT_EQ(ErrorOf("allowed_ranges: ''\n"),
            "coordinator.yaml:1: allowed_ranges: expected a list, got a scalar '' (a list of "
            "target specs)");
}

TEST(CoordinatorConfigTest, AListElementMayHoldSeveralCommaSeparatedSpecs) {
  absl::StatusOr<CoordinatorConfig> c = Parse(R"yaml(allowed_ranges: ["10.0.0.0/8, 192.0.2.0/24"]
inventories:
  a: {targets: ["10.0.0.1, 10.0.0.5-9"], exclude: [10.0.0.7]}
)yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->allowed_ranges, ElementsAre("10.0.0.0/8", "192.0.2.0/24"));
  EXPECT_THAT(c->inventories.at("a").targets, ElementsAre("10.0.0.1", "10.0.0.5-9"));
  EXPECT_THAT(c->inventories.at("a").exclude, ElementsAre("10.0.0.7"));
}

TEST(CoordinatorConfigTest, AcceptsListenAddressShapes) {
  for (const char* listen : {"0.0.0.0:7070", "127.0.0.1:0", "localhost:65535", "[::]:7070",
                             "[::1]:7070", "gk-coordinator.example.com:443"}) {
    absl::StatusOr<CoordinatorConfig> c =
        Parse(absl::StrCat("listen: \"", listen, "\"\nmetrics_listen: \"", listen, "\"\n"));
    ASSERT_TRUE(c.ok()) << listen << ": " << c.status();
    EXPECT_EQ(c->listen, listen);
    EXPECT_EQ(c->metrics_listen, listen);
  }
}

// --- Structure errors ------------------------------------------------------

TEST(CoordinatorConfigTest, RejectsUnknownTopLevelKeyWithItsLine) {
  EXPECT_EQ(ErrorOf("listen: 0.0.0.0:7070\ndb: x.db\nalowed_ranges: [10.0.0.0/8]\n"),
            "coordinator.yaml:3: unknown key 'alowed_ranges'");
}

TEST(CoordinatorConfigTest, RejectsUnknownNestedKeyWithItsPath) {
  EXPECT_EQ(ErrorOf(R"yaml(listen: 0.0.0.0:7070
allowed_ranges: [10.0.0.0/8]
inventories:
  prod:
    targets: [10.0.0.0/24]
profiles:
  fast:
    ports: admin
    timeout: 100
)yaml"),
            "coordinator.yaml:9: unknown key 'timeout' in profiles.fast");
  EXPECT_EQ(ErrorOf("notifier: {adress: 'x:1'}\n"),
            "coordinator.yaml:1: unknown key 'adress' in notifier");
  EXPECT_EQ(ErrorOf("schedules:\n  - name: a\n    cron: '* * * * *'\n    inventry: prod\n"),
            "coordinator.yaml:4: unknown key 'inventry' in schedules[a]");
  EXPECT_EQ(ErrorOf("lease:\n  ttl: 5\n"), "coordinator.yaml:2: unknown key 'ttl' in lease");
}

TEST(CoordinatorConfigTest, RejectsDuplicateKeys) {
  EXPECT_EQ(ErrorOf(R"yaml(allowed_ranges: [10.0.0.0/8]
inventories:
  prod: {targets: [10.0.0.1]}
  stage: {targets: [10.0.0.2]}
  prod: {targets: [10.0.0.3]}
)yaml"),
            "coordinator.yaml:5: duplicate key 'prod' in inventories");
  EXPECT_EQ(ErrorOf("db: a.db\nlisten: 0.0.0.0:1\ndb: b.db\n"),
            "coordinator.yaml:3: duplicate key 'db'");
  EXPECT_EQ(ErrorOf("profiles: {p: {retries: 1, retries: 2}}\n"),
            "coordinator.yaml:1: duplicate key 'retries' in profiles.p");
}

TEST(CoordinatorConfigTest, RejectsYamlSyntaxErrorsWithTheLine) {
  const std::string e = ErrorOf("db: x.db\nprofiles: {a: 1\nlisten: 0.0.0.0:1\n");
  EXPECT_THAT(e, StartsWith("coordinator.yaml:"));
  EXPECT_THAT(e, HasSubstr("invalid YAML"));
  EXPECT_EQ(ErrorOf("db: x.db\n  listen: [a\n"),
            "coordinator.yaml:2: invalid YAML: column 9: illegal map value");
  EXPECT_EQ(ErrorOf("db: x\n\tlisten: y\n"),
            "coordinator.yaml:2: invalid YAML: column 1: illegal tab when looking for indentation");
  // yaml-cpp's own LoadAll never returns on these.
  EXPECT_EQ(ErrorOf(","), "coordinator.yaml:1: invalid YAML: column 1: unexpected ','");
  EXPECT_EQ(ErrorOf("#:\n , di/2"), "coordinator.yaml:2: invalid YAML: column 2: unexpected ','");
  EXPECT_EQ(ErrorOf("db: x\n---\n,"), "coordinator.yaml:3: invalid YAML: column 1: unexpected ','");
  // An unquoted IPv6 listen address is a flow list to YAML.
  EXPECT_EQ(ErrorOf("listen: [::1]:7070\n"),
            "coordinator.yaml:1: invalid YAML: column 14: end of map not found");
}

TEST(CoordinatorConfigTest, RejectsDocumentsThatAreNotAMap) {
  EXPECT_EQ(ErrorOf(""), "coordinator.yaml: the config is empty: expected a map of settings");
  EXPECT_EQ(ErrorOf("# only a comment\n\n"),
            "coordinator.yaml: the config is empty: expected a map of settings");
  EXPECT_EQ(ErrorOf("- db: x\n"),
            "coordinator.yaml:1: expected a map of settings at the top level, got a list");
  EXPECT_EQ(ErrorOf("just text\n"),
            "coordinator.yaml:1: expected a map of settings at the top level, got 'just text'");
  EXPECT_EQ(ErrorOf("db: a\n---\ndb: b\n"),
            "coordinator.yaml:2: more than one YAML document: expected a single map of settings");
}

TEST(CoordinatorConfigTest, RejectsKeysThatAreNotNames) {
  EXPECT_EQ(ErrorOf("? [a, b]\n: 1\n"), "coordinator.yaml:1: expected a name as key, got a list");
  EXPECT_EQ(ErrorOf("profiles:\n  ? {a: 1}\n  : {}\n"),
            "coordinator.yaml:2: expected a name as key in profiles, got a map");
  EXPECT_EQ(ErrorOf("profiles:\n  \"fast lane\": {}\n"),
            "coordinator.yaml:2: profile name 'fast lane': use 1-64 letters, digits, '_', '-' "
            "or '.'");
}

TEST(CoordinatorConfigTest, SurvivesSelfReferencingAliases) {
  EXPECT_EQ(ErrorOf("&a [*a]\n"),
            "coordinator.yaml:1: expected a map of settings at the top level, got a list");
  EXPECT_EQ(ErrorOf("allowed_ranges: &x [*x]\n"),
            "coordinator.yaml:1: allowed_ranges: expected a target spec, got a list");
  EXPECT_EQ(ErrorOf("profiles: &p {a: *p}\n"), "coordinator.yaml:1: unknown key 'a' in profiles.a");
}

// --- Type and value errors -------------------------------------------------

TEST(CoordinatorConfigTest, RejectsWrongTypesNamingPathAndValue) {
  EXPECT_EQ(ErrorOf("allowed_ranges: {a: 10.0.0.0/8}\n"),
            "coordinator.yaml:1: allowed_ranges: expected a list, got a map (a list of target "
            "specs)");
  EXPECT_EQ(ErrorOf("db: [a.db]\n"), "coordinator.yaml:1: db: expected a string, got a list");
  EXPECT_EQ(ErrorOf("db:\nlisten: 0.0.0.0:1\n"),
            "coordinator.yaml:1: db: expected a string, got an empty value");
  EXPECT_EQ(ErrorOf("inventories: [prod]\n"),
            "coordinator.yaml:1: inventories: expected a map, got a list");
  EXPECT_EQ(ErrorOf("schedules: {a: 1}\n"),
            "coordinator.yaml:1: schedules: expected a list, got a map (a list of schedules)");
  EXPECT_EQ(ErrorOf("schedules: [nightly]\n"),
            "coordinator.yaml:1: schedules[0]: expected a map, got 'nightly'");
  EXPECT_EQ(ErrorOf("profiles: {p: {ports: [22, 80]}}\n"),
            "coordinator.yaml:1: profiles.p.ports: expected a string, got a list");
  EXPECT_EQ(ErrorOf("profiles:\n  fast:\n    timeout_ms: quick\n"),
            "coordinator.yaml:3: profiles.fast.timeout_ms: expected a whole number 1..600000, "
            "got 'quick'");
}

TEST(CoordinatorConfigTest, RejectsNumbersOutOfRange) {
  EXPECT_EQ(ErrorOf("profiles: {p: {retries: -1}}\n"),
            "coordinator.yaml:1: profiles.p.retries: expected a whole number 0..10, got '-1'");
  EXPECT_EQ(ErrorOf("profiles: {p: {retries: 11}}\n"),
            "coordinator.yaml:1: profiles.p.retries: expected a whole number 0..10, got '11'");
  EXPECT_EQ(ErrorOf("profiles: {p: {timeout_ms: 0}}\n"),
            "coordinator.yaml:1: profiles.p.timeout_ms: expected a whole number 1..600000, "
            "got '0'");
  EXPECT_EQ(ErrorOf("profiles: {p: {timeout_ms: 2.5}}\n"),
            "coordinator.yaml:1: profiles.p.timeout_ms: expected a whole number 1..600000, "
            "got '2.5'");
  EXPECT_EQ(ErrorOf("profiles: {p: {timeout_ms: 99999999999999999999999}}\n"),
            "coordinator.yaml:1: profiles.p.timeout_ms: expected a whole number 1..600000, "
            "got '99999999999999999999999'");
  EXPECT_EQ(ErrorOf("profiles: {p: {rate: -5}}\n"),
            "coordinator.yaml:1: profiles.p.rate: expected a number 0..1000000000, got '-5'");
  for (const char* bad : {".inf", "nan", "fast", "1e10", "0x10"}) {
    EXPECT_THAT(ErrorOf(absl::StrCat("profiles: {p: {rate: ", bad, "}}\n")),
                HasSubstr("profiles.p.rate: expected a number 0..1000000000"))
        << bad;
  }
  EXPECT_EQ(ErrorOf("lease: {shard_seconds: 0}\n"),
            "coordinator.yaml:1: lease.shard_seconds: expected a number > 0 and <= 86400, "
            "got '0'");
  EXPECT_EQ(ErrorOf("lease: {ttl_seconds: 0}\n"),
            "coordinator.yaml:1: lease.ttl_seconds: expected a whole number 1..86400, got '0'");
  EXPECT_THAT(ErrorOf("lease: {confirm_wait_seconds: 3601}\n"),
              HasSubstr("coordinator.yaml:1: lease.confirm_wait_seconds: expected a number "));
}

TEST(CoordinatorConfigTest, LimitsCapTheProbesOfAScan) {
  absl::StatusOr<CoordinatorConfig> c = Parse("db: gk.db\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->limits.max_probes_per_scan, uint64_t{1} << 32);
  c = Parse("limits: {max_probes_per_scan: 9223372036854775808}\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->limits.max_probes_per_scan, uint64_t{1} << 63);
  c = Parse("limits:\n  max_probes_per_scan: 1000\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->limits.max_probes_per_scan, 1000u);
  EXPECT_EQ(ErrorOf("limits: {max_probes_per_scan: 0}\n"),
            "coordinator.yaml:1: limits.max_probes_per_scan: expected a whole number "
            "1..9223372036854775808, got '0'");
  for (const char* bad : {"9223372036854775809", "1e9", "-1", "many", "[1]"}) {
    EXPECT_THAT(ErrorOf(absl::StrCat("limits: {max_probes_per_scan: ", bad, "}\n")),
                HasSubstr("limits.max_probes_per_scan: expected a whole number"))
        << bad;
  }
  EXPECT_EQ(ErrorOf("limits: {max_probes: 5}\n"),
            "coordinator.yaml:1: unknown key 'max_probes' in limits");
}

TEST(CoordinatorConfigTest, NodeSilenceIsThreeIntervalsByDefaultAndBounded) {
  absl::StatusOr<CoordinatorConfig> c = Parse("db: gk.db\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->nodes.silence_after_intervals, 3u);
  c = Parse("nodes:\n  silence_after_intervals: 10\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->nodes.silence_after_intervals, 10u);
  EXPECT_EQ(ErrorOf("nodes: {silence_after_intervals: 0}\n"),
            "coordinator.yaml:1: nodes.silence_after_intervals: expected a whole number "
            "1..1000, got '0'");
  EXPECT_THAT(ErrorOf("nodes: {silence_after_intervals: 1001}\n"),
              HasSubstr("nodes.silence_after_intervals: expected a whole number 1..1000"));
  EXPECT_EQ(ErrorOf("nodes: {silence_after: 3}\n"),
            "coordinator.yaml:1: unknown key 'silence_after' in nodes");
}

TEST(CoordinatorConfigTest, RejectsBadPortSpecs) {
  EXPECT_EQ(ErrorOf("profiles:\n  p:\n    ports: 22,70000\n"),
            "coordinator.yaml:3: profiles.p.ports: '70000' is not a port (1-65535), range or "
            "named set");
  EXPECT_THAT(ErrorOf("profiles: {p: {ports: ''}}\n"),
              StartsWith("coordinator.yaml:1: profiles.p.ports: "));
}

TEST(CoordinatorConfigTest, RejectsMalformedAddresses) {
  for (const char* bad :
       {"0.0.0.0", "0.0.0.0:", ":7070", "0.0.0.0:70000", "0.0.0.0:-1", "::1:7070", "[::1]7070",
        "[10.0.0.1]:80", "10.0.0.300:80", "host name:80", "0.0.0.0:80x", ""}) {
    EXPECT_EQ(ErrorOf(absl::StrCat("listen: \"", bad, "\"\n")),
              absl::StrCat("coordinator.yaml:1: listen: expected host:port with port 0-65535 "
                           "(IPv6 as \"[::1]:7070\"), got '",
                           bad, "'"));
  }
  EXPECT_EQ(ErrorOf("metrics_listen: 9464\n"),
            "coordinator.yaml:1: metrics_listen: expected host:port with port 0-65535 (IPv6 as "
            "\"[::1]:7070\") or \"\", got '9464'");
  EXPECT_EQ(ErrorOf("notifier: {address: '127.0.0.1:0'}\n"),
            "coordinator.yaml:1: notifier.address: expected host:port with port 1-65535 (IPv6 "
            "as \"[::1]:7070\") or \"\", got '127.0.0.1:0'");
  EXPECT_EQ(ErrorOf("db: ''\n"), "coordinator.yaml:1: db: must not be empty");
}

TEST(CoordinatorConfigTest, QuotesLongAndMultiLineValuesOnOneLine) {
  const std::string l = ErrorOf(absl::StrCat("listen: \"a\\nb\"\n"));
  EXPECT_THAT(l, HasSubstr("got 'a\\nb'"));
  const std::string long_value = ErrorOf(absl::StrCat("listen: ", std::string(500, 'a'), "\n"));
  EXPECT_THAT(long_value, HasSubstr(absl::StrCat("got '", std::string(100, 'a'), "...'")));
  EXPECT_LT(long_value.size(), 250u);
}

// --- Inventories -----------------------------------------------------------

TEST(CoordinatorConfigTest, RejectsInventoriesOutsideAllowedRanges) {
  EXPECT_EQ(ErrorOf(R"yaml(allowed_ranges:
  - 10.0.0.0/16
inventories:
  prod:
    targets:
      - 10.0.1.0/24
      - 10.9.0.0/16
)yaml"),
            "coordinator.yaml:7: inventories.prod.targets: 10.9.0.0-10.9.255.255 is outside "
            "allowed_ranges");
  // Exclusions count: what is left must lie inside.
  EXPECT_TRUE(Parse(R"yaml(allowed_ranges: [10.0.0.0-10.0.0.9]
inventories:
  a: {targets: [10.0.0.0/28], exclude: [10.0.0.10-15]}
)yaml")
                  .ok());
  EXPECT_EQ(ErrorOf(R"yaml(allowed_ranges: [10.0.0.0/8]
inventories:
  v6: {targets: ["2001:db8::1"]}
)yaml"),
            "coordinator.yaml:3: inventories.v6.targets: 2001:db8::1 is outside allowed_ranges");
}

TEST(CoordinatorConfigTest, RejectsInventoriesWhenNothingIsAllowed) {
  EXPECT_EQ(ErrorOf("db: x.db\ninventories:\n  prod: {targets: [10.0.0.1]}\n"),
            "coordinator.yaml:3: allowed_ranges is empty: no inventory can be scanned");
  EXPECT_EQ(ErrorOf("allowed_ranges: []\ninventories: {prod: {targets: [10.0.0.1]}}\n"),
            "coordinator.yaml:2: allowed_ranges is empty: no inventory can be scanned");
}

TEST(CoordinatorConfigTest, RejectsBadInventories) {
  EXPECT_EQ(ErrorOf("allowed_ranges: [10.0.0.0/8]\ninventories:\n  prod: {exclude: [10.0.0.1]}\n"),
            "coordinator.yaml:3: inventories.prod: missing required key 'targets' or 'openstack'");
  EXPECT_EQ(ErrorOf("allowed_ranges: [10.0.0.0/8]\ninventories:\n  prod:\n"),
            "coordinator.yaml:3: inventories.prod: missing required key 'targets' or 'openstack'");
  EXPECT_EQ(ErrorOf("allowed_ranges: [10.0.0.0/8]\ninventories:\n  prod: {targets: []}\n"),
            "coordinator.yaml:3: inventories.prod.targets: must list at least one target");
  EXPECT_EQ(ErrorOf(R"yaml(allowed_ranges: [10.0.0.0/8]
inventories:
  prod:
    targets:
      - 10.0.0.1
      - 10.0.0.300/24
)yaml"),
            "coordinator.yaml:6: inventories.prod.targets: '10.0.0.300/24' is not an IPv4/IPv6 "
            "address, range or CIDR");
  EXPECT_EQ(ErrorOf("allowed_ranges: [10.0.0.0/8]\ninventories:\n  p: {targets: [{a: 1}]}\n"),
            "coordinator.yaml:3: inventories.p.targets: expected a target spec, got a map");
  EXPECT_EQ(ErrorOf("allowed_ranges: ['10.0.0.0/8,,10.1.0.0/16']\n"),
            "coordinator.yaml:1: allowed_ranges: empty target spec in '10.0.0.0/8,,10.1.0.0/16'");
  EXPECT_EQ(ErrorOf(R"yaml(allowed_ranges: [10.0.0.0/8]
inventories:
  prod: {targets: [10.0.0.0/30], exclude: [10.0.0.0-3]}
)yaml"),
            "coordinator.yaml:3: inventories.prod: the exclusions remove every target address");
}

// --- OpenStack inventories -------------------------------------------------

TEST(CoordinatorConfigTest, ParsesAnOpenStackInventoryWithDefaultsAndStaticTargets) {
  absl::StatusOr<CoordinatorConfig> c = Parse(R"yaml(allowed_ranges: [10.0.0.0/8]
inventories:
  cloud:
    targets: [10.1.0.0/24]
    exclude: [10.2.0.9]
    openstack: {auth_url: "http://127.0.0.1:5000/v3", username: gk, project_name: ops}
schedules:
  - {name: nightly, cron: "0 3 * * *", inventory: cloud}
)yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  const InventoryConfig& cloud = c->inventories.at("cloud");
  EXPECT_THAT(cloud.targets, ElementsAre("10.1.0.0/24"));
  EXPECT_THAT(cloud.exclude, ElementsAre("10.2.0.9"));
  ASSERT_TRUE(cloud.openstack.has_value());
  EXPECT_EQ(cloud.openstack->auth_url, "http://127.0.0.1:5000/v3");
  EXPECT_EQ(cloud.openstack->username, "gk");
  EXPECT_EQ(cloud.openstack->project_name, "ops");
  EXPECT_EQ(cloud.openstack->user_domain_name, "Default");
  EXPECT_EQ(cloud.openstack->project_domain_name, "Default");
  EXPECT_EQ(cloud.openstack->password_file, "");  // then $GOALKEEPER_OPENSTACK_PASSWORD
  EXPECT_EQ(cloud.openstack->interface, "public");
  EXPECT_EQ(cloud.openstack->region, "");
}

TEST(CoordinatorConfigTest, RejectsBadOpenStackBlocksNamingKeyAndLine) {
  const std::string head = "allowed_ranges: [10.0.0.0/8]\ninventories:\n  cloud:\n    openstack:\n";
  const std::string good =
      "      auth_url: https://keystone:5000\n      username: gk\n      project_name: ops\n";
  EXPECT_EQ(ErrorOf(head + good + "      passwd_file: /run/pw\n"),
            "coordinator.yaml:8: unknown key 'passwd_file' in inventories.cloud.openstack");
  EXPECT_EQ(ErrorOf(head + good + "      region: [a, b]\n"),
            "coordinator.yaml:8: inventories.cloud.openstack.region: expected a string, got a "
            "list");
  EXPECT_EQ(ErrorOf(head + good + "      interface: private\n"),
            "coordinator.yaml:8: inventories.cloud.openstack.interface: expected public, internal "
            "or admin, got 'private'");
  EXPECT_EQ(ErrorOf(head + good + "      password_file: ''\n"),
            "coordinator.yaml:8: inventories.cloud.openstack.password_file: must not be empty");
  EXPECT_EQ(ErrorOf(head + "      auth_url: keystone:5000\n      username: gk\n"
                           "      project_name: ops\n"),
            "coordinator.yaml:5: inventories.cloud.openstack.auth_url: 'keystone:5000' is not an "
            "http:// or https:// URL");
  EXPECT_EQ(ErrorOf(head + "      username: gk\n      project_name: ops\n"),
            "coordinator.yaml:5: inventories.cloud.openstack: missing required key 'auth_url'");
  EXPECT_EQ(ErrorOf(head + "      auth_url: https://k:5000\n      project_name: ops\n"),
            "coordinator.yaml:5: inventories.cloud.openstack: missing required key 'username'");
  EXPECT_EQ(ErrorOf(head + "      auth_url: https://k:5000\n      username: gk\n"),
            "coordinator.yaml:5: inventories.cloud.openstack: missing required key "
            "'project_name'");
  EXPECT_EQ(ErrorOf("allowed_ranges: [10.0.0.0/8]\ninventories:\n  cloud: {openstack: yes}\n"),
            "coordinator.yaml:3: inventories.cloud.openstack: expected a map, got 'yes'");
  EXPECT_EQ(ErrorOf("inventories:\n  cloud:\n    openstack: {auth_url: 'https://k', username: gk, "
                    "project_name: ops}\n"),
            "coordinator.yaml:2: allowed_ranges is empty: no inventory can be scanned");
}

TEST(CoordinatorConfigTest, NeverQuotesCredentialsInTheAuthUrl) {
  const std::string e = ErrorOf(R"yaml(allowed_ranges: [10.0.0.0/8]
inventories:
  cloud:
    openstack:
      auth_url: https://gk:s3cret-pw@keystone:5000
      username: gk
      project_name: ops
)yaml");
  EXPECT_EQ(e,
            "coordinator.yaml:5: inventories.cloud.openstack.auth_url: credentials "
            "(user:password@) do not belong in the URL; use "
            "inventories.cloud.openstack.password_file");
  EXPECT_THAT(e, ::testing::Not(HasSubstr("s3cret")));
}

TEST(CoordinatorConfigTest, RefusesTargetFiles) {
  EXPECT_EQ(ErrorOf("allowed_ranges: ['@/etc/ranges.txt']\n"),
            "coordinator.yaml:1: allowed_ranges: '@/etc/ranges.txt': files are not accepted in "
            "the config");
  EXPECT_EQ(ErrorOf(R"yaml(allowed_ranges: [10.0.0.0/8]
inventories:
  prod:
    targets: [10.0.0.1]
    exclude: ["10.0.0.2, @skip.txt"]
)yaml"),
            "coordinator.yaml:5: inventories.prod.exclude: '@skip.txt': files are not accepted "
            "in the config");
}

// --- Schedules -------------------------------------------------------------

TEST(CoordinatorConfigTest, RejectsSchedulesNamingMissingInventoryOrProfile) {
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, R"yaml(schedules:
  - name: nightly
    cron: "0 3 * * *"
    inventory: prd
)yaml")),
            "coordinator.yaml:7: schedules[nightly].inventory: no inventory named 'prd'");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, R"yaml(schedules:
  - {name: nightly, cron: "0 3 * * *", inventory: prod, profile: fast}
)yaml")),
            "coordinator.yaml:5: schedules[nightly].profile: no profile named 'fast'");
}

TEST(CoordinatorConfigTest, RejectsIncompleteSchedules) {
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "schedules:\n  - {cron: '0 3 * * *', inventory: prod}\n")),
            "coordinator.yaml:5: schedules[0]: missing required key 'name'");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "schedules:\n  - {name: n, inventory: prod}\n")),
            "coordinator.yaml:5: schedules[n]: missing required key 'cron'");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, "schedules:\n  - {name: n, cron: '0 3 * * *'}\n")),
            "coordinator.yaml:5: schedules[n]: missing required key 'inventory'");
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase, R"yaml(schedules:
  - {name: n, cron: '0 3 * * *', inventory: prod}
  - {name: n, cron: '0 4 * * *', inventory: prod}
)yaml")),
            "coordinator.yaml:6: schedules[n]: duplicate schedule name 'n' (first at line 5)");
}

TEST(CoordinatorConfigTest, PassesSchedulerErrorsThroughWithTheLine) {
  const std::string cron = ErrorOf(absl::StrCat(kBase, R"yaml(schedules:
  - name: nightly
    cron: "61 * * * *"
    inventory: prod
)yaml"));
  EXPECT_THAT(cron, StartsWith("coordinator.yaml:6: schedules[nightly].cron"));
  EXPECT_THAT(cron, HasSubstr("61"));

  const std::string tz = ErrorOf(absl::StrCat(kBase, R"yaml(schedules:
  - name: nightly
    cron: "0 3 * * *"
    timezone: Mars/Olympus_Mons
    inventory: prod
)yaml"));
  EXPECT_THAT(tz, StartsWith("coordinator.yaml:7: schedules[nightly].timezone"));
  EXPECT_THAT(tz, HasSubstr("Mars/Olympus_Mons"));
}

TEST(CoordinatorConfigTest, RejectsCronThatNeverFires) {
  EXPECT_EQ(ErrorOf(absl::StrCat(kBase,
                                 "schedules:\n  - {name: n, cron: '0 0 31 2 *', "
                                 "inventory: prod}\n")),
            "coordinator.yaml:5: schedules[n].cron: '0 0 31 2 *' never fires (no date matches)");
}

TEST(CoordinatorConfigTest, RefusesTimeZoneNamesThatArePaths) {
  for (const char* tz : {"/etc/passwd", "../../etc/passwd", "Europe/../../x", "file:UTC", ""}) {
    EXPECT_EQ(ErrorOf(absl::StrCat(kBase,
                                   "schedules:\n  - {name: n, cron: '0 3 * * *', "
                                   "inventory: prod, timezone: '",
                                   tz, "'}\n")),
              absl::StrCat("coordinator.yaml:5: schedules[n].timezone: '", tz,
                           "' is not an IANA time zone name (e.g. 'Europe/Bucharest' or "
                           "'UTC')"));
  }
}

// --- Lease -----------------------------------------------------------------

TEST(CoordinatorConfigTest, RequiresHeartbeatShorterThanTtl) {
  EXPECT_EQ(ErrorOf("lease:\n  ttl_seconds: 10\n  heartbeat_seconds: 10\n"),
            "coordinator.yaml:3: lease.heartbeat_seconds: must be less than lease.ttl_seconds "
            "(10), got 10");
  EXPECT_EQ(ErrorOf("lease:\n  ttl_seconds: 5\n"),
            "coordinator.yaml:2: lease.heartbeat_seconds: must be less than lease.ttl_seconds "
            "(5), got 5");
}

// --- Files -----------------------------------------------------------------

TEST(CoordinatorConfigTest, LoadReportsAMissingFile) {
  absl::StatusOr<CoordinatorConfig> c = LoadCoordinatorConfig("/nonexistent/gk/coordinator.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(c.status().message()),
            "cannot read config file '/nonexistent/gk/coordinator.yaml': No such file or "
            "directory");
}

TEST(CoordinatorConfigTest, LoadReportsADirectory) {
  const std::string dir = ::testing::TempDir();
  absl::StatusOr<CoordinatorConfig> c = LoadCoordinatorConfig(dir);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()),
              StartsWith(absl::StrCat("cannot read config file '", dir)));
}

TEST(CoordinatorConfigTest, LoadNamesTheFileInErrors) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/gk_config_test_bad.yaml");
  {
    std::ofstream out(path);
    out << "db: x.db\nlisten: nowhere\n";
  }
  absl::StatusOr<CoordinatorConfig> c = LoadCoordinatorConfig(path);
  std::remove(path.c_str());
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()), StartsWith(absl::StrCat(path, ":2: listen: ")));
}

}  // namespace
}  // namespace goalkeeper

namespace goalkeeper {
namespace {

TEST(BroadAllowedRangeWarningsTest, WarnsAboutTheWholeInternetAndRangesBroaderThanASlash8) {
  EXPECT_THAT(BroadAllowedRangeWarnings({"0.0.0.0/0"}),
              ElementsAre("allowed_ranges: '0.0.0.0/0' allows every IPv4 address: any host on "
                          "the Internet may be scanned"));
  EXPECT_THAT(BroadAllowedRangeWarnings({"::/0"}),
              ElementsAre("allowed_ranges: '::/0' allows every IPv6 address: any host on the "
                          "Internet may be scanned"));
  EXPECT_THAT(
      BroadAllowedRangeWarnings(
          {"10.0.0.0/8", "2001:db8::/32", "10.0.0.0/7, 192.0.2.0/24", "2001:db8::/31"}),
      ElementsAre("allowed_ranges: '10.0.0.0/7' (10.0.0.0-11.255.255.255) is broader than a /8: "
                  "check that every IPv4 address in it may be scanned",
                  "allowed_ranges: '2001:db8::/31' (2001:db8::-2001:db9:ffff:ffff:ffff:ffff:ffff:"
                  "ffff) is broader than a /32: check that every IPv6 address in it may be "
                  "scanned"));
  EXPECT_THAT(BroadAllowedRangeWarnings({"127.0.0.0/8", "198.51.100.0/24"}), IsEmpty());
}

TEST(BroadAllowedRangeWarningsTest, AWholeInternetConfigStillParses) {
  // Allowed, but never silently: the coordinator logs the warning at start.
  absl::StatusOr<CoordinatorConfig> c = Parse("allowed_ranges: [0.0.0.0/0, '::/0']\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(BroadAllowedRangeWarnings(c->allowed_ranges).size(), 2u);
}

}  // namespace
}  // namespace goalkeeper

namespace goalkeeper {
namespace {

// Issue 12: a profile's protocol probes and UDP services.
TEST(CoordinatorConfigTest, ProfilesChooseProbesAndUdpServices) {
  auto c = Parse(
      "profiles:\n"
      "  deep: {ports: \"6379\", probes: all, udp: [dns, \"ntp,snmp\"]}\n"
      "  quick: {ports: \"22\", probes: none}\n"
      "  every: {udp: [all]}\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->profiles["deep"].probes, "all");
  EXPECT_EQ(c->profiles["deep"].udp, (std::vector<std::string>{"dns", "ntp", "snmp"}));
  EXPECT_EQ(c->profiles["quick"].probes, "none");
  EXPECT_TRUE(c->profiles["quick"].udp.empty());
  EXPECT_EQ(c->profiles["every"].probes, "verify");  // the default
  EXPECT_EQ(c->profiles["every"].udp, (std::vector<std::string>{"all"}));
  const std::string text = FormatCoordinatorConfig(*c);
  auto again = ParseCoordinatorConfig(text, "formatted");
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << text;
  EXPECT_EQ(again->profiles, c->profiles);
}

TEST(CoordinatorConfigTest, AnUnknownProbeModeOrUdpServiceIsNamed) {
  EXPECT_EQ(ErrorOf("profiles: {p: {probes: deep}}\n"),
            "coordinator.yaml:1: profiles.p.probes: 'deep' is not none, verify or all");
  EXPECT_THAT(ErrorOf("profiles:\n  p:\n    udp: [dns, quic]\n"),
              HasSubstr("coordinator.yaml:3: profiles.p.udp: "));
  EXPECT_THAT(ErrorOf("profiles:\n  p:\n    udp: [dns, quic]\n"), HasSubstr("quic"));
  EXPECT_THAT(ErrorOf("profiles: {p: {udp: dns}}\n"), HasSubstr("profiles.p.udp: expected a list"));
}

}  // namespace
}  // namespace goalkeeper
