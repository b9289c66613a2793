#include "worker/scan_command.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "common/flags.h"
#include "common/logging.h"
#include "common/ports.h"
#include "common/probe_space.h"
#include "common/targets.h"
#include "common/version.h"
#include "engine/result_writer.h"
#include "engine/scan_engine.h"
#include "worker/probe_flags.h"

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
  ProbeFlags probe;
  bool help = false;
};

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
  AddProbeFlags(p, f.probe, /*per_scan=*/true);
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
      ParseProbeFlags(f.probe, parser.WasSet("snmp-community"), &udp_ports);
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
