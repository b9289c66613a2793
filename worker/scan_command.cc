#include "worker/scan_command.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/flags.h"
#include "common/logging.h"
#include "common/ports.h"
#include "common/probe_space.h"
#include "common/targets.h"
#include "common/version.h"
#include "engine/result_writer.h"
#include "engine/scan_engine.h"
#include "probes/udp_probe.h"

namespace goalkeeper {
namespace {

using Clock = std::chrono::steady_clock;

std::atomic<int> g_signal{0};
extern "C" void OnSignal(int sig) { g_signal.store(sig); }

int UsageError(std::FILE* err, absl::string_view message) {
  std::fprintf(err, "error: %.*s\n", static_cast<int>(message.size()), message.data());
  return kExitUsage;
}

std::string FormatEta(double seconds) {
  if (seconds < 0 || seconds > 1e7) return "--";
  auto s = static_cast<int64_t>(seconds);
  if (s >= 3600) return absl::StrFormat("%dh%02dm", s / 3600, (s / 60) % 60);
  if (s >= 60) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%ds", s);
}

struct ScanFlags {
  std::vector<std::string> targets;
  std::vector<std::string> exclude;
  std::vector<std::string> allowed;
  std::string ports;
  uint64_t concurrency = 4096;
  uint64_t timeout_ms = 500;
  uint64_t retries = 1;
  double rate = 0;
  uint64_t seed = 0;
  uint64_t max_probes = uint64_t{1} << 28;
  uint64_t threads = 0;
  std::string output = "jsonl";
  bool all_states = false;
  std::string probes = "verify";
  std::string udp;
  std::string probe_timeout = "2s";
  std::string dns_name{probes::kDefaultDnsProbeName};
  std::string snmp_community = "public";
  std::string snmp_community_file;
  bool help = false;
};

// The probe flags as engine options; a bad value is InvalidArgument naming
// the flag and the value. The SNMP community never appears in a message.
absl::StatusOr<ProbeOptions> ParseProbeFlags(const ScanFlags& f, bool community_set,
                                             std::vector<uint16_t>* udp_ports) {
  ProbeOptions o;
  if (f.probes == "none") {
    o.mode = ProbeMode::kNone;
  } else if (f.probes == "verify") {
    o.mode = ProbeMode::kVerify;
  } else if (f.probes == "all") {
    o.mode = ProbeMode::kAll;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--probes: '", f.probes, "' is not none, verify or all"));
  }
  absl::Duration d;
  if (!absl::ParseDuration(f.probe_timeout, &d) || d < absl::Milliseconds(1) ||
      d > absl::Seconds(60)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--probe-timeout: '", f.probe_timeout, "' is not a duration from 1ms to 60s (e.g. 2s)"));
  }
  o.timeout = std::chrono::milliseconds(absl::ToInt64Milliseconds(d));
  std::vector<std::string> names;
  for (absl::string_view n : absl::StrSplit(f.udp, ',', absl::SkipWhitespace())) {
    names.emplace_back(absl::StripAsciiWhitespace(n));
  }
  udp_ports->clear();
  if (!names.empty()) {
    absl::StatusOr<std::vector<uint16_t>> ports = probes::UdpServicePorts(names);
    if (!ports.ok())
      return absl::InvalidArgumentError(absl::StrCat("--udp: ", ports.status().message()));
    *udp_ports = *std::move(ports);
  }
  if (f.dns_name.empty() || f.dns_name.size() > 253 ||
      f.dns_name.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") !=
          std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--dns-name: '", absl::CHexEscape(f.dns_name.substr(0, 300)),
                     "' is not a DNS name (letters, digits, '-', '.')"));
  }
  o.udp.dns_name = f.dns_name;
  if (!f.dns_name.empty() && f.dns_name.back() != '.') o.udp.dns_name.push_back('.');
  std::string community = f.snmp_community;
  if (!f.snmp_community_file.empty()) {
    if (community_set) {
      return absl::InvalidArgumentError(
          "--snmp-community-file: give it or --snmp-community, not both");
    }
    std::ifstream in(f.snmp_community_file, std::ios::binary);
    if (!in) {
      return absl::InvalidArgumentError(
          absl::StrCat("--snmp-community-file: '", f.snmp_community_file, "' cannot be read"));
    }
    community.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    while (!community.empty() && (community.back() == '\n' || community.back() == '\r')) {
      community.pop_back();
    }
  }
  bool printable = !community.empty() && community.size() <= 64;
  for (char c : community) printable = printable && c > 0x20 && c < 0x7f;
  if (!printable) {
    return absl::InvalidArgumentError(
        absl::StrCat(f.snmp_community_file.empty() ? "--snmp-community" : "--snmp-community-file",
                     ": the community must be 1-64 printable characters without spaces (",
                     community.size(), " bytes given)"));
  }
  o.udp.snmp_community = std::move(community);
  return o;
}

void DefineFlags(FlagParser& p, ScanFlags& f) {
  p.AddList("targets", &f.targets, "SPEC[,SPEC...]",
            "addresses, CIDRs, ranges (a.b.c.d-e.f.g.h, a.b.c.d-h), @file; IPv4/IPv6");
  p.AddList("exclude", &f.exclude, "SPEC[,SPEC...]", "addresses never to probe, same forms");
  p.AddList("allowed", &f.allowed, "SPEC[,SPEC...]", "refuse any target outside these ranges");
  p.AddJoinedList("ports", &f.ports, "SPEC",
                  "ports and ranges, or sets: databases, admin, dangerous, all (repeatable)");
  p.AddUint("concurrency", &f.concurrency, 1, 1000000, "probes in flight (default 4096)");
  p.AddUint("timeout-ms", &f.timeout_ms, 1, 600000, "per-probe deadline (default 500)");
  p.AddUint("retries", &f.retries, 0, 10, "extra tries for unanswered probes (default 1)");
  p.AddDouble("rate", &f.rate, 0, 1e9, "cap in probes/s, 0 = none (default 0)");
  p.AddUint("seed", &f.seed, 0, UINT64_MAX, "probe order seed (default random)");
  p.AddUint("max-probes", &f.max_probes, 1, uint64_t{1} << 63,
            "refuse larger scans (default 268435456)");
  p.AddUint("threads", &f.threads, 0, 256, "event-loop threads, 0 = one per core");
  p.AddString("output", &f.output, "jsonl|text", "result format on stdout (default jsonl)");
  p.AddBool("all-states", &f.all_states, "also print closed, filtered, unreachable");
  p.AddString("probes", &f.probes, "none|verify|all",
              "protocol probes of open TCP ports: none, the port's own (verify), or identify "
              "every open port (all) (default verify)");
  p.AddJoinedList("udp", &f.udp, "LIST",
                  "UDP services to probe on every address: dns,ntp,ssdp,snmp,memcached,cldap,"
                  "portmap,netbios,mdns,mssql,ubiquiti or all (default none)");
  p.AddString("probe-timeout", &f.probe_timeout, "DURATION",
              "deadline of one TCP probe conversation (default 2s)");
  p.AddString("dns-name", &f.dns_name, "NAME",
              "the name the DNS probe asks recursively (default goalkeeper-probe.invalid.)");
  p.AddString("snmp-community", &f.snmp_community, "NAME",
              "SNMP community of the snmp probe (default public; never logged)");
  p.AddString("snmp-community-file", &f.snmp_community_file, "PATH",
              "read the SNMP community from a file instead");
  p.AddBool("help", &f.help, "show this help");
}

}  // namespace

int RunScanCommand(int argc, const char* const* argv, std::FILE* out, std::FILE* err) {
  FlagParser parser("goalkeeper-worker scan");
  ScanFlags f;
  DefineFlags(parser, f);
  if (absl::Status s = parser.Parse(argc, argv); !s.ok()) return UsageError(err, s.message());
  if (f.help) {
    std::fputs(parser.Usage().c_str(), out);
    return kExitOk;
  }
  if (parser.version_requested()) {
    std::fprintf(out, "%s\n", VersionLine(parser.program()).c_str());
    return kExitOk;
  }
  if (!parser.positional().empty()) {
    return UsageError(err, absl::StrCat("unexpected argument '", parser.positional()[0], "'"));
  }
  if (f.targets.empty()) return UsageError(err, "--targets is required");
  if (!parser.WasSet("ports")) return UsageError(err, "--ports is required");
  OutputFormat format;
  if (f.output == "jsonl") {
    format = OutputFormat::kJsonl;
  } else if (f.output == "text") {
    format = OutputFormat::kText;
  } else {
    return UsageError(err, absl::StrCat("--output: '", f.output, "' is not jsonl or text"));
  }

  absl::StatusOr<TargetSet> targets = TargetSet::Parse(f.targets, f.exclude);
  if (!targets.ok()) {
    // Name the flag whose value failed: exclusions parse after targets.
    absl::StatusOr<std::vector<AddressRange>> inc = ParseTargetSpecs(f.targets);
    const char* flag =
        inc.ok() && !inc->empty() &&
                targets.status().message().find("exclusions remove") == absl::string_view::npos
            ? "--exclude"
            : "--targets";
    return UsageError(err, absl::StrCat(flag, ": ", targets.status().message()));
  }
  if (!f.allowed.empty()) {
    absl::StatusOr<TargetSet> allowed = TargetSet::Parse(f.allowed, {});
    if (!allowed.ok())
      return UsageError(err, absl::StrCat("--allowed: ", allowed.status().message()));
    AddressRange outside;
    if (!targets->IsSubsetOf(*allowed, &outside)) {
      return UsageError(
          err, absl::StrCat("--targets: ", outside.ToString(), " is outside the --allowed ranges"));
    }
  }
  absl::StatusOr<PortSet> ports = PortSet::Parse(f.ports);
  if (!ports.ok()) return UsageError(err, absl::StrCat("--ports: ", ports.status().message()));

  std::vector<uint16_t> udp_ports;
  absl::StatusOr<ProbeOptions> probe_options =
      ParseProbeFlags(f, parser.WasSet("snmp-community"), &udp_ports);
  if (!probe_options.ok()) return UsageError(err, probe_options.status().message());

  absl::uint128 pairs = ProbeSpace::CountPairs(*targets, *ports, udp_ports);
  if (pairs > f.max_probes) {
    std::string count = pairs == absl::Uint128Max() ? "over 2^128" : ToDecimal(pairs);
    return UsageError(
        err,
        absl::StrCat("the scan has ", count, " probes (",
                     targets->size() == absl::Uint128Max() ? "2^128" : ToDecimal(targets->size()),
                     " addresses x ", ports->size() + udp_ports.size(),
                     " ports), more than --max-probes ", f.max_probes,
                     "; raise --max-probes to run it"));
  }
  if (!parser.WasSet("seed"))
    f.seed = (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
  const size_t address_count =
      static_cast<size_t>(std::min<absl::uint128>(targets->size(), SIZE_MAX));
  absl::StatusOr<ProbeSpace> space =
      ProbeSpace::Create(*std::move(targets), *std::move(ports), f.seed, udp_ports);
  if (!space.ok()) return UsageError(err, space.status().message());

  auto log = MakeLogger("worker");
  EngineOptions opt;
  opt.timeout = std::chrono::milliseconds(f.timeout_ms);
  opt.retries = static_cast<uint32_t>(f.retries);
  opt.rate = f.rate;
  opt.threads = static_cast<unsigned>(f.threads);
  uint64_t fd_limit = 0;
  opt.concurrency = FitConcurrencyToFdBudget(f.concurrency, 128, &fd_limit);
  if (opt.concurrency < f.concurrency) {
    log->warn("concurrency {} does not fit the open-file limit {}; using {}", f.concurrency,
              fd_limit, opt.concurrency);
  }

  ScanEngine engine(opt);
  ResultWriter writer(out, format, f.all_states);
  log->info(
      "scan start probes={} addresses={} ports={} concurrency={} timeout_ms={} retries={} "
      "rate={} seed={} probe_mode={} udp_ports={} probe_timeout_ms={}",
      space->size(), address_count, space->ports().size(), opt.concurrency, f.timeout_ms, f.retries,
      f.rate, f.seed, ProbeModeName(probe_options->mode), udp_ports.size(),
      probe_options->timeout.count());

  g_signal.store(0);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);

  const Clock::time_point start = Clock::now();
  const bool tty = isatty(fileno(err)) != 0;
  const uint64_t total = space->size();
  absl::Notification finished;
  std::thread progress([&] {
    const auto interval = tty ? std::chrono::milliseconds(250) : std::chrono::milliseconds(10000);
    Clock::time_point last_print = start;
    while (!finished.WaitForNotificationWithTimeout(absl::Milliseconds(100))) {
      if (g_signal.load() != 0 && !engine.cancelled()) {
        log->warn("signal {} received; finishing probes in flight", g_signal.load());
        engine.Cancel();
      }
      writer.Flush();
      if (Clock::now() - last_print < interval) continue;
      last_print = Clock::now();
      const ScanCounters& c = engine.counters();
      double secs = std::chrono::duration<double>(Clock::now() - start).count();
      uint64_t done = c.done.load();
      double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
      double eta = rate > 0 ? static_cast<double>(total - done) / rate : -1;
      std::string line =
          absl::StrFormat("probes %d/%d (%.1f%%) rate %.0f/s open %d eta %s", done, total,
                          100.0 * static_cast<double>(done) / static_cast<double>(total), rate,
                          c.open.load(), FormatEta(eta));
      if (tty) {
        std::fprintf(err, "\r\033[K%s", line.c_str());
        std::fflush(err);
      } else {
        log->info("progress {}", line);
      }
    }
    if (tty) std::fprintf(err, "\r\033[K");
  });

  absl::Status status = engine.Run(*space, 0, total, writer, *std::move(probe_options));
  finished.Notify();
  progress.join();
  writer.Flush();
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);

  const ScanCounters& c = engine.counters();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  log->info(
      "scan {} probes={} open={} closed={} filtered={} unreachable={} attempts={} "
      "tcp_probes={} verified={} udp_unmatched={} elapsed={:.3f}s rate={:.0f}/s seed={}",
      engine.cancelled() ? "interrupted" : "done", c.done.load(), c.open.load(), c.closed.load(),
      c.filtered.load(), c.unreachable.load(), c.attempts.load(), c.tcp_probes.load(),
      c.verified.load(), c.udp_unmatched.load(), secs,
      secs > 0 ? static_cast<double>(c.done.load()) / secs : 0.0, f.seed);
  if (!status.ok()) {
    std::fprintf(err, "error: %s\n", std::string(status.message()).c_str());
    return kExitFailure;
  }
  if (!writer.ok()) {
    std::fprintf(err, "error: writing results to stdout failed\n");
    return kExitFailure;
  }
  return engine.cancelled() ? kExitInterrupted : kExitOk;
}

}  // namespace goalkeeper
