#include "worker/node_command.h"

#include <signal.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <system_error>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "common/coordinator_client.h"
#include "common/flags.h"
#include "common/grpc_channel.h"
#include "common/host_port.h"
#include "common/logging.h"
#include "common/strict_yaml.h"
#include "common/tls.h"
#include "common/version.h"
#include "common/yaml_write.h"
#include "node/agent.h"
#include "node/firewall_line.h"
#include "node/node_config.h"
#include "worker/scan_command.h"  // kExitOk, kExitFailure, kExitUsage

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;

constexpr size_t kMaxNodeName = 253;

struct NodeFlags {
  std::string coordinator;
  std::string config;
  std::string node_name;
  std::string node_labels;
  std::string proc_root = "/proc";
  TlsFlags tls;
  TlsConfig tls_config;
  bool check_config = false;
};

bool ValidNodeName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxNodeName) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

absl::StatusOr<std::map<std::string, std::string>> ParseLabels(absl::string_view text) {
  std::map<std::string, std::string> labels;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    part = absl::StripAsciiWhitespace(part);
    const size_t eq = part.find('=');
    if (eq == absl::string_view::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--node-labels: '", part, "' is not key=value (in '", text, "')"));
    }
    labels[std::string(part.substr(0, eq))] = std::string(part.substr(eq + 1));
  }
  return labels;
}

std::string FormatSettings(const NodeFlags& f, const node::NodeAgentOptions& o) {
  std::string out = "# goalkeeper-worker node --check-config: the effective settings\n";
  absl::StrAppend(&out, "coordinator: ", YamlQuoted(f.coordinator), "\n");
  absl::StrAppend(&out, "config: ", YamlQuoted(f.config), "\n");
  absl::StrAppend(&out, "node-name: ", YamlQuoted(o.node), "\n");
  absl::StrAppend(&out, "node-labels: ", YamlQuoted(f.node_labels), "\n");
  absl::StrAppend(&out, "proc-root: ", YamlQuoted(o.proc_root), "\n");
  absl::StrAppend(&out, "insecure: ", f.tls_config.insecure ? "true" : "false", "\n");
  if (!f.tls_config.insecure) {
    absl::StrAppend(&out, "tls-ca-file: ", YamlQuoted(f.tls_config.ca_file), "\n");
    absl::StrAppend(&out, "tls-cert-file: ", YamlQuoted(f.tls_config.cert_file), "\n");
    absl::StrAppend(&out, "tls-key-file: ", YamlQuoted(f.tls_config.key_file), "\n");
    absl::StrAppend(&out, "tls-server-name: ", YamlQuoted(f.tls_config.server_name),
                    "  # \"\" = the coordinator's host\n");
  }
  absl::StrAppend(&out, "timezone: ", YamlQuoted(o.zone.name()), "\n");
  absl::StrAppend(&out, "checkpoint_dir: ", YamlQuoted(o.config.checkpoint_dir), "\n");
  absl::StrAppend(&out, "heartbeat_interval: ",
                  YamlQuoted(absl::FormatDuration(o.config.heartbeat_interval)), "\n");
  absl::StrAppend(&out, "rules:\n");
  for (const FirewallRuleSpec& r : o.config.rules) {
    absl::StrAppend(&out, "  - name: ", YamlQuoted(r.name), "\n    sources: [");
    for (size_t i = 0; i < r.sources.size(); ++i) {
      absl::StrAppend(&out, i ? ", " : "", YamlQuoted(r.sources[i]));
    }
    absl::StrAppend(&out, "]\n");
  }
  const ListenerPolicy p = PolicyForLabels(o.config.listeners, o.labels);
  absl::StrAppend(&out, "listeners:  # the policy of this node\n");
  absl::StrAppend(
      &out, "  interval: ", YamlQuoted(absl::FormatDuration(o.config.listeners.interval)), "\n");
  absl::StrAppend(&out, "  tcp: ", p.tcp ? "true" : "false", "\n");
  absl::StrAppend(&out, "  udp: ", p.udp ? "true" : "false", "\n");
  absl::StrAppend(&out, "  allowed_ports: [", absl::StrJoin(p.allowed_ports, ", "), "]\n");
  absl::StrAppend(&out, "  exclude_ports: [", absl::StrJoin(p.exclude_ports, ", "), "]\n");
  return out;
}

// Flags and config into the agent's options; InvalidArgument (exit 2).
absl::Status Configure(const FlagParser& flags, NodeFlags& f, node::NodeAgentOptions& o) {
  if (f.coordinator.empty()) {
    return absl::InvalidArgumentError("--coordinator is required (or set GOALKEEPER_COORDINATOR)");
  }
  if (auto hp = ParseHostPort(f.coordinator, PortRule::kDial); !hp.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--coordinator: ", hp.status().message()));
  }
  if (f.config.empty()) return absl::InvalidArgumentError("--config FILE is required");
  if (absl::Status s = f.tls.ApplyTo(flags, &f.tls_config); !s.ok()) return s;
  if (absl::Status s = RequireTlsMaterial(f.tls_config, TlsUse::kDaemon); !s.ok()) return s;
  if (absl::Status s = CheckTlsFiles(f.tls_config); !s.ok()) return s;
  if (!ValidNodeName(f.node_name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--node-name: '", f.node_name,
                     "' is not 1..253 bytes of [A-Za-z0-9._-] (set --node-name or $NODE_NAME)"));
  }
  if (f.proc_root.empty()) return absl::InvalidArgumentError("--proc-root: empty path");
  absl::StatusOr<std::map<std::string, std::string>> labels = ParseLabels(f.node_labels);
  if (!labels.ok()) return labels.status();
  absl::StatusOr<std::string> text = ReadConfigFile(f.config);
  if (!text.ok())
    return absl::InvalidArgumentError(absl::StrCat("--config: ", text.status().message()));
  absl::StatusOr<NodeConfig> config = ParseNodeConfig(*text, f.config);
  if (!config.ok()) return config.status();
  o.config = std::move(*config);
  o.node = f.node_name;
  o.labels = std::move(*labels);
  o.proc_root = f.proc_root;
  o.agent_version = std::string(Version());
  absl::StatusOr<absl::TimeZone> zone = LoadTimeZoneFile(o.config.timezone_file);
  if (zone.ok()) {
    o.zone = *zone;
  } else if (o.config.timezone_file == NodeConfig().timezone_file &&
             !std::filesystem::exists(o.config.timezone_file)) {
    MakeLogger("node")->warn("no {}: RFC 3164 stamps are read as UTC (set timezone_file)",
                             o.config.timezone_file);
    o.zone = absl::UTCTimeZone();
  } else {
    return absl::InvalidArgumentError(absl::StrCat(f.config, ": ", zone.status().message()));
  }
  return absl::OkStatus();
}

}  // namespace

int RunNodeCommand(int argc, const char* const* argv) {
  FlagParser flags("goalkeeper-worker node");
  NodeFlags f;
  if (const char* env = std::getenv("GOALKEEPER_COORDINATOR")) f.coordinator = env;
  if (const char* env = std::getenv("NODE_NAME"); env != nullptr && *env != '\0') {
    f.node_name = env;
  } else {
    char host[256] = {0};
    if (gethostname(host, sizeof(host) - 1) == 0) f.node_name = host;
  }
  if (const char* env = std::getenv("NODE_LABELS")) f.node_labels = env;
  flags.AddString("coordinator", &f.coordinator, "HOST:PORT",
                  "coordinator address (default $GOALKEEPER_COORDINATOR)");
  flags.AddString("config", &f.config, "FILE", "the agent's YAML config (docs/node-agent.md)");
  flags.AddString("node-name", &f.node_name, "NAME",
                  "this node's name (default $NODE_NAME, then the host name)");
  flags.AddString("node-labels", &f.node_labels, "K=V[,K=V...]",
                  "this node's labels for listeners.node_policies (default $NODE_LABELS)");
  flags.AddString("proc-root", &f.proc_root, "DIR",
                  "where the host's /proc is (reads DIR/net/tcp...; default /proc)");
  f.tls.Add(flags, std::getenv("GOALKEEPER_TLS_DIR"));
  flags.AddBool("check-config", &f.check_config,
                "check the flags and config, print the effective settings as YAML, exit 0 (or "
                "2); touches nothing");
  if (std::optional<int> rc = flags.ParseForMain(argc, argv, stdout, stderr)) return *rc;
  node::NodeAgentOptions o;
  if (absl::Status s = Configure(flags, f, o); !s.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
    return kExitUsage;
  }
  if (f.check_config) {
    std::fputs(FormatSettings(f, o).c_str(), stdout);
    return std::fflush(stdout) == 0 ? kExitOk : kExitFailure;
  }

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  std::error_code ec;
  std::filesystem::create_directories(o.config.checkpoint_dir, ec);
  if (ec) {
    std::fprintf(stderr, "error: checkpoint_dir '%s': %s\n", o.config.checkpoint_dir.c_str(),
                 ec.message().c_str());
    return kExitFailure;
  }
  if (f.tls_config.insecure) WarnInsecure(f.coordinator, /*server=*/false);
  std::unique_ptr<NodeReportClient> client = NewGrpcNodeReportClient(f.coordinator, f.tls_config);
  SystemClock clock;
  absl::Notification stop;
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    if (!stop.HasBeenNotified()) {
      MakeLogger("node")->info("signal {} received; committing and exiting", sig);
      stop.Notify();
    }
  });
  auto join_waiter = [&] {
    if (!stop.HasBeenNotified()) stop.Notify();
    pthread_kill(waiter.native_handle(), SIGTERM);
    waiter.join();
  };
  absl::StatusOr<std::unique_ptr<node::NodeAgent>> agent =
      node::NodeAgent::Create(o, clock, *client);
  // Another agent holds the checkpoint directory (the pod this one replaces
  // is still committing): wait for it, once a second, until told to stop.
  if (absl::IsUnavailable(agent.status())) {
    MakeLogger("node")->warn("{}; waiting for it to exit", agent.status().message());
    while (absl::IsUnavailable(agent.status()) &&
           !stop.WaitForNotificationWithTimeout(absl::Seconds(1))) {
      agent = node::NodeAgent::Create(o, clock, *client);
    }
    if (stop.HasBeenNotified()) {
      join_waiter();
      MakeLogger("node")->info("node agent stopped before it started");
      return kExitOk;
    }
  }
  if (!agent.ok()) {
    join_waiter();
    std::fprintf(stderr, "error: %s\n", std::string(agent.status().message()).c_str());
    return absl::IsInvalidArgument(agent.status()) ? kExitUsage : kExitFailure;
  }
  MakeLogger("node")->info("node agent started node={} coordinator={} version={}", o.node,
                           f.coordinator, Version());
  absl::Status s = (*agent)->Run(&stop);
  join_waiter();
  if (!s.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
    return kExitFailure;
  }
  MakeLogger("node")->info("node agent stopped");
  return kExitOk;
}

}  // namespace goalkeeper
