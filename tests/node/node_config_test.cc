#include "node/node_config.h"

#include <gtest/gtest.h>

#include <string>

namespace goalkeeper {
namespace {

std::string ErrorOf(absl::string_view yaml) {
  absl::StatusOr<NodeConfig> c = ParseNodeConfig(yaml, "node.yaml");
  if (c.ok()) return "ok";
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(c.status().message());
}

TEST(NodeConfigTest, DefaultsAreTheOriginalTftpRuleAndTcpListeners) {
  absl::StatusOr<NodeConfig> c = ParseNodeConfig("checkpoint_dir: /var/lib/gk\n", "node.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->rules.size(), 1u);
  EXPECT_EQ(c->rules[0], DefaultFirewallRule());
  EXPECT_EQ(c->rules[0].prefix, "IPTables-TFTP-Rejected: ");
  EXPECT_EQ(c->rules[0].proto, "udp");
  EXPECT_EQ(c->rules[0].ports, (std::vector<uint16_t>{69}));
  EXPECT_EQ(c->timezone_file, "/etc/localtime");
  EXPECT_EQ(c->checkpoint_dir, "/var/lib/gk");
  EXPECT_EQ(c->heartbeat_interval, absl::Seconds(60));
  EXPECT_EQ(c->listeners.interval, absl::Seconds(60));
  EXPECT_TRUE(c->listeners.policy.tcp);
  EXPECT_FALSE(c->listeners.policy.udp);
}

TEST(NodeConfigTest, ReadsEverySetting) {
  absl::StatusOr<NodeConfig> c = ParseNodeConfig(R"(
timezone_file: /host/etc/localtime
checkpoint_dir: /var/lib/goalkeeper-node
heartbeat_interval: 30s
rules:
  - name: tftp
    sources: [/host/var/log/kern.log, "/host/var/log/syslog*", journal]
    prefix: "IPTables-TFTP-Rejected: "
    proto: UDP
    ports: [69, "1069,2000-2002"]
    window: 15m
    threshold: 20
    per_ipv6_64: true
    quiet: 2d
  - name: ssh
    sources: [journal]
    regex: '^nft ssh drop: '
listeners:
  interval: 2m
  protocols: [tcp, udp]
  allowed_ports: [22, 10250]
  exclude_ports: ["30000-30002"]
)",
                                                 "node.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->timezone_file, "/host/etc/localtime");
  EXPECT_EQ(c->heartbeat_interval, absl::Seconds(30));
  ASSERT_EQ(c->rules.size(), 2u);
  const FirewallRuleSpec& t = c->rules[0];
  EXPECT_EQ(t.name, "tftp");
  EXPECT_EQ(t.sources, (std::vector<std::string>{"/host/var/log/kern.log", "/host/var/log/syslog*",
                                                 "journal"}));
  EXPECT_EQ(t.proto, "udp");
  EXPECT_EQ(t.ports, (std::vector<uint16_t>{69, 1069, 2000, 2001, 2002}));
  EXPECT_EQ(t.window, absl::Minutes(15));
  EXPECT_EQ(t.threshold, 20u);
  EXPECT_TRUE(t.per_ipv6_64);
  EXPECT_EQ(t.quiet, absl::Hours(48));
  const FirewallRuleSpec& s = c->rules[1];
  EXPECT_EQ(s.regex, "^nft ssh drop: ");
  EXPECT_TRUE(s.prefix.empty());
  EXPECT_TRUE(s.proto.empty());
  EXPECT_TRUE(s.ports.empty());
  EXPECT_EQ(s.window, absl::Minutes(10));
  EXPECT_EQ(c->listeners.interval, absl::Minutes(2));
  EXPECT_TRUE(c->listeners.policy.udp);
  EXPECT_EQ(c->listeners.policy.allowed_ports, (std::vector<uint16_t>{22, 10250}));
  EXPECT_EQ(c->listeners.policy.exclude_ports, (std::vector<uint16_t>{30000, 30001, 30002}));
}

TEST(NodeConfigTest, AnEmptyRuleListMeansNoRules) {
  absl::StatusOr<NodeConfig> c = ParseNodeConfig("rules: []\n", "node.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->rules.empty());
}

TEST(NodeConfigTest, ErrorsNameTheFileLineKeyAndValue) {
  EXPECT_EQ(ErrorOf("heartbeat_interva: 1s\n"), "node.yaml:1: unknown key 'heartbeat_interva'");
  EXPECT_EQ(ErrorOf("rules:\n  - name: a\n    sources: [journal]\n    prefix: x\n"
                    "    window: ten\n"),
            "node.yaml:5: rules[0].window: expected a duration 1s..7d (e.g. 10m), got 'ten'");
  EXPECT_EQ(ErrorOf("rules:\n  - name: a\n    sources: [journal]\n    prefix: x\n    mach: y\n"),
            "node.yaml:5: unknown key 'mach' in rules[0]");
  EXPECT_EQ(ErrorOf("rules:\n  - name: a\n    sources: [var/log/syslog]\n    prefix: x\n"),
            "node.yaml:3: rules[0].sources[0]: expected an absolute file path or glob, or "
            "'journal', got 'var/log/syslog'");
  EXPECT_EQ(ErrorOf("rules:\n  - name: a\n    sources: [journal]\n    regex: '(x'\n"),
            "node.yaml:4: rules[0]: rule 'a': regex '(x' is not valid RE2: missing ): (x");
  EXPECT_EQ(ErrorOf("rules:\n  - name: a\n    sources: [journal]\n    prefix: x\n    regex: y\n"),
            "node.yaml:5: rules[0].regex: set either prefix or regex, not both");
  EXPECT_EQ(ErrorOf("rules:\n  - name: a\n    sources: [journal]\n"),
            "node.yaml:2: rules[0] (rule 'a'): a rule needs a prefix or a regex");
  EXPECT_EQ(ErrorOf("rules:\n  - name: a\n    prefix: x\n"),
            "node.yaml:2: rules[0] (rule 'a'): a rule needs sources");
  EXPECT_EQ(ErrorOf("rules:\n  - sources: [journal]\n    prefix: x\n"),
            "node.yaml:2: rules[0]: a rule needs a name");
  EXPECT_EQ(ErrorOf("rules:\n  - {name: a, sources: [journal], prefix: x}\n"
                    "  - {name: a, sources: [journal], prefix: y}\n"),
            "node.yaml:3: rules[1].name: rule name 'a' is used twice");
  EXPECT_EQ(ErrorOf("rules:\n  - {name: a, sources: [journal], prefix: x, ports: [70000]}\n"),
            "node.yaml:2: rules[0].ports: '70000' is not a port (1-65535), range or named set");
  EXPECT_EQ(ErrorOf("rules:\n  - {name: a, sources: [journal], prefix: x, threshold: 0}\n"),
            "node.yaml:2: rules[0].threshold: expected a whole number 1..1000000, got '0'");
  EXPECT_EQ(ErrorOf("listeners:\n  protocols: [tcp, sctp]\n"),
            "node.yaml:2: listeners.protocols: expected tcp or udp, got 'sctp'");
  EXPECT_EQ(ErrorOf("timezone_file: localtime\n"),
            "node.yaml:1: timezone_file: expected an absolute path, got 'localtime'");
  EXPECT_EQ(ErrorOf("listeners:\n  interval: 0s\n"),
            "node.yaml:2: listeners.interval: expected a duration 1s..24h (e.g. 60s), got '0s'");
}

TEST(NodeConfigTest, MalformedYamlIsAnErrorNotAnException) {
  EXPECT_NE(ErrorOf("rules: [\n"), "ok");
  EXPECT_NE(ErrorOf(",\n"), "ok");
  EXPECT_NE(ErrorOf("- a\n"), "ok");
}

}  // namespace
}  // namespace goalkeeper

namespace goalkeeper {
namespace {

TEST(NodeConfigTest, NodePoliciesPickTheFirstMatchingSelectorElseTheDefault) {
  absl::StatusOr<NodeConfig> c = ParseNodeConfig(
      "listeners:\n"
      "  protocols: [tcp, udp]\n"
      "  allowed_ports: [22]\n"
      "  exclude_ports: [9100]\n"
      "  node_policies:\n"
      "    - selector: {role: ingress, zone: a}\n"
      "      allowed_ports: [22, 80, 443]\n"
      "    - selector: {role: ingress}\n"
      "      allowed_ports: [80]\n"
      "      exclude_ports: ['30000-30001']\n",
      "node.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->listeners.node_policies.size(), 2u);
  ListenerPolicy both = PolicyForLabels(c->listeners, {{"role", "ingress"}, {"zone", "a"}});
  EXPECT_EQ(both.allowed_ports, (std::vector<uint16_t>{22, 80, 443}));
  EXPECT_TRUE(both.exclude_ports.empty());
  EXPECT_TRUE(both.tcp && both.udp);  // protocols stay the top level's
  ListenerPolicy ingress = PolicyForLabels(c->listeners, {{"role", "ingress"}, {"zone", "b"}});
  EXPECT_EQ(ingress.allowed_ports, (std::vector<uint16_t>{80}));
  EXPECT_EQ(ingress.exclude_ports, (std::vector<uint16_t>{30000, 30001}));
  ListenerPolicy other = PolicyForLabels(c->listeners, {{"role", "worker"}});
  EXPECT_EQ(other.allowed_ports, (std::vector<uint16_t>{22}));
  EXPECT_EQ(other.exclude_ports, (std::vector<uint16_t>{9100}));
  EXPECT_EQ(PolicyForLabels(c->listeners, {}).allowed_ports, (std::vector<uint16_t>{22}));
}

TEST(NodeConfigTest, NodePolicyErrorsNameTheKeyAndValue) {
  auto error = [](const std::string& yaml) {
    absl::StatusOr<NodeConfig> c = ParseNodeConfig(yaml, "node.yaml");
    return c.ok() ? std::string("ok") : std::string(c.status().message());
  };
  EXPECT_EQ(error("listeners:\n  node_policies:\n    - allowed_ports: [22]\n"),
            "node.yaml:3: listeners.node_policies[0]: a node policy needs a selector");
  EXPECT_EQ(error("listeners:\n  node_policies:\n    - {selector: {a: b}, allowed: [1]}\n"),
            "node.yaml:3: unknown key 'allowed' in listeners.node_policies[0]");
  EXPECT_EQ(error("listeners:\n  node_policies:\n    - {selector: {'a b': c}}\n"),
            "node.yaml:3: listeners.node_policies[0].selector.a b: expected a label key, got "
            "'a b'");
}

}  // namespace
}  // namespace goalkeeper

namespace goalkeeper {
namespace {

TEST(NodeConfigTest, JournalDirectoriesDefaultToTheHostsAndMustBeAbsolute) {
  absl::StatusOr<NodeConfig> d = ParseNodeConfig("heartbeat_interval: 60s\n", "node.yaml");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->journal_directories,
            (std::vector<std::string>{"/var/log/journal", "/run/log/journal"}));
  absl::StatusOr<NodeConfig> c =
      ParseNodeConfig("journal_directories: [/host/var/log/journal]\n", "node.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->journal_directories, (std::vector<std::string>{"/host/var/log/journal"}));
  absl::StatusOr<NodeConfig> bad = ParseNodeConfig("journal_directories: [log]\n", "node.yaml");
  EXPECT_EQ(bad.status().message(),
            "node.yaml:1: journal_directories: expected an absolute directory, got 'log'");
}

}  // namespace
}  // namespace goalkeeper
