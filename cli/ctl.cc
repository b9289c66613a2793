#include "cli/ctl.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/flags.h"
#include "common/grpc_channel.h"
#include "common/host_port.h"
#include "common/tls.h"
#include "common/version.h"
#include "goalkeeper/v1/coordinator.grpc.pb.h"
#include "goalkeeper/v1/node.grpc.pb.h"
#include "goalkeeper/v1/notifier.grpc.pb.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;

constexpr int kOk = 0;
constexpr int kFailure = 1;
constexpr int kUsage = 2;
// `scan start --wait` / `scan watch`: the scan finished DEGRADED (a canary
// of the coordinator config was missed; its report says nothing closed).
constexpr int kDegraded = 3;
// StartScan may wait for an inventory's OpenStack API.
constexpr int kStartScanSeconds = 120;

constexpr char kUsageText[] =
    "usage: goalkeeperctl [--coordinator HOST:PORT] [TLS flags] <command>\n"
    "       goalkeeperctl --version\n"
    "TLS flags (one of them is required):\n"
    "  --tls-dir DIR (DIR/ca.crt, DIR/tls.crt, DIR/tls.key; default $GOALKEEPER_TLS_DIR)\n"
    "  --tls-ca-file FILE --tls-cert-file FILE --tls-key-file FILE (over --tls-dir)\n"
    "  --token-file FILE (a bearer token, with --tls-ca-file or --tls-dir: the CA only)\n"
    "  --tls-server-name NAME (the name the coordinator's certificate carries)\n"
    "  --insecure (plaintext: local demos only)\n"
    "commands:\n"
    "  scan start (--targets SPEC --ports SPEC | --inventory NAME [--profile NAME])\n"
    "             [--exclude SPEC] [--seed N] [--probes none|verify|all]\n"
    "             [--udp SERVICE[,SERVICE...]|all] [--wait] [--output table|json]\n"
    "  scan status ID [--output table|json]\n"
    "  scan watch ID\n"
    "  scan list [--limit N (0 = all)] [--inventory NAME] [--output table|json]\n"
    "  scan cancel ID\n"
    "  scan diff ID [--base ID] [--output table|json]\n"
    "  scan findings ID [--output jsonl|csv|table]\n"
    "  workers list [--output table|json]\n"
    "  nodes list [--output table|json]\n"
    "  audit list [--since DURATION] [--identity ID] [--method M] [--limit N (0 = all)]\n"
    "             [--output table|json] [--notifier HOST:PORT]\n"
    "  ack IP PORT[/udp] --for DURATION --reason TEXT --notifier HOST:PORT\n"
    "DURATION: 90s, 30m, 12h, 7d, 2w or combinations (1h30m)\n"
    "exit codes: 0 ok, 1 failure, 2 usage or refused request, 3 scan start --wait or scan\n"
    "  watch: the scan ended DEGRADED (a canary was missed)\n";

std::string ToJson(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions opt;
  opt.always_print_primitive_fields = true;
  opt.preserve_proto_field_names = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(m, &out, opt);
  return out;
}

// A JSON string literal of `s` (quotes, backslashes and control bytes escaped).
std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      absl::StrAppend(&out, absl::StrFormat("\\u%04x", u));
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

const char* AuthName(v1::AuthState a) {
  switch (a) {
    case v1::AUTH_STATE_REQUIRED:
      return "required";
    case v1::AUTH_STATE_NOT_REQUIRED:
      return "not_required";
    default:
      return "unknown";
  }
}

// What a probe saw, briefly: " (verified: 7.0.15, no authentication)"; ""
// when no probe verified the service.
std::string Seen(bool verified, const v1::Evidence& ev) {
  if (!verified) return "";
  std::vector<std::string> parts;
  if (!ev.version().empty()) parts.push_back(ev.version());
  if (ev.auth() == v1::AUTH_STATE_NOT_REQUIRED) parts.push_back("no authentication");
  if (ev.auth() == v1::AUTH_STATE_REQUIRED) parts.push_back("authentication required");
  if (ev.amplification() > 0) parts.push_back(absl::StrFormat("%.1fx amplification", ev.amplification()));
  return absl::StrCat(" (verified", parts.empty() ? "" : ": ", absl::StrJoin(parts, ", "), ")");
}

std::string FormatMs(int64_t ms) {
  if (ms == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

std::string Human(double n) {
  if (n >= 1e9) return absl::StrFormat("%.1fG", n / 1e9);
  if (n >= 1e6) return absl::StrFormat("%.1fM", n / 1e6);
  if (n >= 1e4) return absl::StrFormat("%.1fk", n / 1e3);
  return absl::StrFormat("%.0f", n);
}

// "90s", "30m", "12h", "7d", "2w", "1d12h", "1.5h": absl's units plus d and w.
std::optional<absl::Duration> ParseCliDuration(absl::string_view text) {
  if (text.empty()) return std::nullopt;
  absl::Duration total;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = i;
    while (j < text.size() &&
           (absl::ascii_isdigit(static_cast<unsigned char>(text[j])) || text[j] == '.')) {
      ++j;
    }
    double n = 0;
    if (j == i || !absl::SimpleAtod(text.substr(i, j - i), &n)) return std::nullopt;
    size_t k = j;
    while (k < text.size() && absl::ascii_isalpha(static_cast<unsigned char>(text[k]))) ++k;
    const absl::string_view unit = text.substr(j, k - j);
    absl::Duration one;
    if (unit == "w") {
      one = absl::Hours(24 * 7);
    } else if (unit == "d") {
      one = absl::Hours(24);
    } else if (unit == "h") {
      one = absl::Hours(1);
    } else if (unit == "m") {
      one = absl::Minutes(1);
    } else if (unit == "s") {
      one = absl::Seconds(1);
    } else if (unit == "ms") {
      one = absl::Milliseconds(1);
    } else {
      return std::nullopt;
    }
    total += n * one;
    i = k;
  }
  return total;
}

bool IsFinal(v1::ScanState s) {
  return s == v1::SUCCEEDED || s == v1::FAILED || s == v1::CANCELLED || s == v1::DEGRADED;
}

class Ctl {
 public:
  Ctl(std::FILE* out, std::FILE* err) : out_(out), err_(err) {}

  // The flag name of "--name" or "--name=value".
  static std::string FlagName(const std::string& a) {
    const size_t eq = a.find('=');
    return a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
  }
  // Connection flags: taken before the command and after it alike.
  static bool IsConnectionFlag(const std::string& name) {
    return OneOf(name, {"token-file", "tls-dir", "tls-ca-file", "tls-cert-file", "tls-key-file",
                        "tls-server-name", "insecure"});
  }

  int Main(int argc, const char* const* argv) {
    // Global flags come before the command; the connection flags may also
    // follow it (they are taken out before the command's flags are parsed).
    int i = 0;
    const char* env = std::getenv("GOALKEEPER_COORDINATOR");
    address_ = env != nullptr && *env != '\0' ? env : "127.0.0.1:7070";
    FlagParser globals("goalkeeperctl");
    std::string coordinator;
    std::string token_file;
    globals.AddString("coordinator", &coordinator, "HOST:PORT", "the coordinator");
    globals.AddString("token-file", &token_file, "FILE", "a bearer token (CI)");
    TlsFlags tls_flags;
    tls_flags.Add(globals, std::getenv("GOALKEEPER_TLS_DIR"));
    // The global flags end at the first word that is not a flag (the command).
    std::vector<const char*> global_args;
    while (i < argc && std::string(argv[i]).rfind("--", 0) == 0) {
      const std::string a = argv[i];
      if (a == "--help") {
        std::fputs(kUsageText, out_);
        return kOk;
      }
      if (a == "--version") {
        std::fprintf(out_, "%s\n", VersionLine("goalkeeperctl").c_str());
        return kOk;
      }
      const std::string name = FlagName(a);
      if (name != "coordinator" && !IsConnectionFlag(name)) {
        return Usage(absl::StrCat("unknown flag ", a));
      }
      global_args.push_back(argv[i++]);
      if (a.find('=') == std::string::npos && name != "insecure" && i < argc) {
        global_args.push_back(argv[i++]);
      }
    }
    std::vector<const char*> rest;  // the command and its own flags
    for (int j = i; j < argc; ++j) {
      const std::string a = argv[j];
      if (a == "--") {  // the rest is the command's
        for (; j < argc; ++j) rest.push_back(argv[j]);
        break;
      }
      if (a == "--version") {  // anywhere, before anything is checked or dialled
        std::fprintf(out_, "%s\n", VersionLine("goalkeeperctl").c_str());
        return kOk;
      }
      if (a.rfind("--", 0) != 0 || !IsConnectionFlag(FlagName(a))) {
        rest.push_back(argv[j]);
        continue;
      }
      global_args.push_back(argv[j]);
      if (a.find('=') == std::string::npos && FlagName(a) != "insecure" && j + 1 < argc) {
        global_args.push_back(argv[++j]);
      }
    }
    if (absl::Status s = globals.Parse(static_cast<int>(global_args.size()), global_args.data());
        !s.ok()) {
      return Usage(s.message());
    }
    if (globals.WasSet("coordinator")) address_ = coordinator;
    if (address_.empty()) return Usage("--coordinator is empty");
    if (auto hp = ParseHostPort(address_, PortRule::kDial); !hp.ok()) {
      return Usage(absl::StrCat("--coordinator: ", hp.status().message()));
    }
    if (rest.size() < 2) return Usage("missing command");
    ChannelOptions& channel_options = channel_options_;  // the notifier's channel too
    if (absl::Status s = tls_flags.ApplyTo(globals, &channel_options.tls); !s.ok()) {
      return Usage(s.message());
    }
    if (globals.WasSet("token-file")) {
      if (channel_options_.tls.insecure) {
        return Usage("--token-file needs TLS: a bearer token is never sent in plaintext");
      }
      absl::StatusOr<std::string> token = ReadTokenFile(token_file);
      if (!token.ok()) return Usage(token.status().message());
      channel_options_.bearer_token = *std::move(token);
    }
    if (absl::Status s = RequireTlsMaterial(channel_options_.tls, globals.WasSet("token-file")
                                                                      ? TlsUse::kTokenClient
                                                                      : TlsUse::kClient);
        !s.ok()) {
      return Usage(s.message());
    }
    if (absl::Status s = CheckTlsFiles(channel_options_.tls); !s.ok()) return Usage(s.message());
    const std::string group = rest[0];
    const std::string verb = rest[1];
    argc = static_cast<int>(rest.size()) - 2;
    argv = rest.data() + 2;
    channel_ = MakeChannel(address_, channel_options_);
    stub_ = v1::Coordinator::NewStub(channel_);
    if (group == "scan") {
      if (verb == "start") return ScanStart(argc, argv);
      if (verb == "status") return ScanStatus(argc, argv);
      if (verb == "watch") return ScanWatch(argc, argv);
      if (verb == "list") return ScanList(argc, argv);
      if (verb == "cancel") return ScanCancel(argc, argv);
      if (verb == "diff") return ScanDiff(argc, argv);
      if (verb == "findings") return ScanFindings(argc, argv);
    } else if (group == "workers" && verb == "list") {
      return WorkersList(argc, argv);
    } else if (group == "nodes" && verb == "list") {
      return NodesList(argc, argv);
    } else if (group == "audit" && verb == "list") {
      return AuditList(argc, argv);
    } else if (group == "ack") {
      // `ack IP PORT ...`: the verb is the first positional argument.
      return Ack(argc + 1, argv - 1);
    }
    return Usage(absl::StrCat("unknown command '", group, " ", verb, "'"));
  }

 private:
  int Usage(absl::string_view message) {
    std::fprintf(err_, "error: %s\n%s", std::string(message).c_str(), kUsageText);
    return kUsage;
  }

  // One line for an RPC failure; the exit code follows the status.
  int RpcError(const grpc::Status& s) {
    switch (s.error_code()) {
      case grpc::StatusCode::UNAVAILABLE:
        // The coordinator answered it (the connection is up): something it
        // depends on is down, e.g. an inventory's OpenStack API.
        if (channel_ != nullptr && channel_->GetState(false) == GRPC_CHANNEL_READY) {
          std::fprintf(err_, "error: %s\n", s.error_message().c_str());
          return kFailure;
        }
        [[fallthrough]];
      case grpc::StatusCode::DEADLINE_EXCEEDED:
        std::fprintf(err_, "error: %s %s is unreachable: %s\n", server_kind_.c_str(),
                     address_.c_str(), s.error_message().c_str());
        return kFailure;
      case grpc::StatusCode::INVALID_ARGUMENT:
      case grpc::StatusCode::NOT_FOUND:
      case grpc::StatusCode::FAILED_PRECONDITION:
        std::fprintf(err_, "error: %s\n", s.error_message().c_str());
        return kUsage;
      default:
        std::fprintf(err_, "error: %s %s: %s\n", server_kind_.c_str(), address_.c_str(),
                     s.error_message().c_str());
        return kFailure;
    }
  }

  void SetDeadline(grpc::ClientContext& ctx, int seconds = 10) {
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  }

  // Parses flags and exactly `ids` positional arguments (`what` names them).
  int ParseArgs(FlagParser& flags, int argc, const char* const* argv, size_t ids,
                const char* what = "expected a scan ID") {
    if (absl::Status s = flags.Parse(argc, argv); !s.ok()) return Usage(s.message());
    if (flags.version_requested()) {
      std::fprintf(out_, "%s\n", VersionLine(flags.program()).c_str());
      return kOk;
    }
    if (flags.positional().size() != ids) {
      return Usage(ids == 0 ? "unexpected argument" : what);
    }
    return -1;
  }

  static bool OneOf(const std::string& v, std::initializer_list<const char*> allowed) {
    for (const char* a : allowed) {
      if (v == a) return true;
    }
    return false;
  }

  void PrintScan(const v1::Scan& s, const std::string& output) {
    if (output == "json") {
      std::fprintf(out_, "%s\n", ToJson(s).c_str());
      return;
    }
    const double pct = s.probes_total() == 0 ? 0
                                             : 100.0 * static_cast<double>(s.probes_done()) /
                                                   static_cast<double>(s.probes_total());
    std::fprintf(
        out_,
        "id:        %s\nstate:     %s\ninventory: %s\ntargets:   %s\nports:     %s\n"
        "probes:    %lu / %lu (%.1f%%)\nrate:      %s probes/s\nfindings:  %lu\n"
        "shards:    %lu done, %lu leased\ncreated:   %s\nstarted:   %s\nfinished:  %s\n",
        s.id().c_str(), v1::ScanState_Name(s.state()).c_str(),
        s.inventory().empty() ? "-" : s.inventory().c_str(),
        absl::StrJoin(s.targets().include(), ",").c_str(), s.profile().ports().spec().c_str(),
        static_cast<unsigned long>(s.probes_done()), static_cast<unsigned long>(s.probes_total()),
        pct, Human(s.probes_per_second()).c_str(), static_cast<unsigned long>(s.findings()),
        static_cast<unsigned long>(s.shards_done()), static_cast<unsigned long>(s.shards_leased()),
        FormatMs(s.created_unix_ms()).c_str(), FormatMs(s.started_unix_ms()).c_str(),
        FormatMs(s.finished_unix_ms()).c_str());
    if (!s.error().empty()) std::fprintf(out_, "error:     %s\n", s.error().c_str());
    const std::string missed = MissedCanaries(s);
    if (!missed.empty()) std::fprintf(out_, "missed canaries: %s\n", missed.c_str());
    if (s.confirmations() != 0 || s.flaps() != 0) {
      std::fprintf(out_, "confirmed: %lu changes, %lu flaps\n",
                   static_cast<unsigned long>(s.confirmations()),
                   static_cast<unsigned long>(s.flaps()));
    }
  }

  // "127.0.0.9:6379/tcp (expected OPEN, seen CLOSED), ..."; "" when none.
  static std::string MissedCanaries(const v1::Scan& s) {
    std::vector<std::string> out;
    for (const v1::CanaryResult& c : s.canaries()) {
      if (!c.missed()) continue;
      out.push_back(absl::StrCat(c.ip(), ":", c.port(),
                                 c.transport() == v1::TRANSPORT_UDP ? "/udp" : "/tcp",
                                 " (expected ", v1::ProbeState_Name(c.expected()).substr(12),
                                 ", seen ", v1::ProbeState_Name(c.seen()).substr(12), ")"));
    }
    return absl::StrJoin(out, ", ");
  }

  int ScanStart(int argc, const char* const* argv) {
    FlagParser flags("goalkeeperctl scan start");
    std::vector<std::string> targets, exclude;
    std::string ports, inventory, profile, probes, udp, output = "table";
    uint64_t seed = 0;
    bool wait = false;
    flags.AddList("targets", &targets, "SPEC[,SPEC...]", "ad-hoc targets");
    flags.AddList("exclude", &exclude, "SPEC[,SPEC...]", "addresses to skip");
    flags.AddJoinedList("ports", &ports, "SPEC", "ports for ad-hoc targets (repeatable)");
    flags.AddString("inventory", &inventory, "NAME", "a configured inventory");
    flags.AddString("profile", &profile, "NAME", "a configured scan profile");
    flags.AddUint("seed", &seed, 0, UINT64_MAX, "probe order seed");
    flags.AddString("probes", &probes, "none|verify|all",
                    "protocol probes (default: the profile's)");
    flags.AddJoinedList("udp", &udp, "SERVICE[,SERVICE...]",
                        "UDP services to probe, or all (default: the profile's)");
    flags.AddBool("wait", &wait, "wait until the scan ends");
    flags.AddString("output", &output, "table|json", "output format");
    if (int rc = ParseArgs(flags, argc, argv, 0); rc >= 0) return rc;
    if (!OneOf(output, {"table", "json"})) {
      return Usage(absl::StrCat("--output: '", output, "' is not table or json"));
    }
    if (inventory.empty() == targets.empty())
      return Usage("give --targets and --ports, or --inventory");
    if (!targets.empty() && ports.empty() && profile.empty()) {
      return Usage("--ports is required with --targets (or name a --profile)");
    }
    v1::StartScanRequest req;
    if (probes == "none") {
      req.set_probes(v1::PROBE_MODE_NONE);
    } else if (probes == "verify") {
      req.set_probes(v1::PROBE_MODE_VERIFY);
    } else if (probes == "all") {
      req.set_probes(v1::PROBE_MODE_ALL);
    } else if (!probes.empty()) {
      return Usage(absl::StrCat("--probes: '", probes, "' is not none, verify or all"));
    }
    for (absl::string_view name : absl::StrSplit(udp, ',', absl::SkipWhitespace())) {
      req.add_udp_services(std::string(absl::StripAsciiWhitespace(name)));
    }
    req.set_inventory(inventory);
    for (const std::string& t : targets) req.mutable_targets()->add_include(t);
    for (const std::string& t : exclude) req.mutable_targets()->add_exclude(t);
    req.mutable_ports()->set_spec(ports);
    req.set_profile(profile);
    req.set_seed(seed);
    v1::Scan scan;
    grpc::ClientContext ctx;
    // An inventory with an `openstack` block is fetched first (with retries).
    SetDeadline(ctx, kStartScanSeconds);
    if (grpc::Status s = stub_->StartScan(&ctx, req, &scan); !s.ok()) return RpcError(s);
    if (!wait) {
      if (output == "json") {
        std::fprintf(out_, "%s\n", ToJson(scan).c_str());
      } else {
        std::fprintf(out_, "%s\n", scan.id().c_str());
      }
      return kOk;
    }
    if (output == "table") std::fprintf(err_, "scan %s started\n", scan.id().c_str());
    return Watch(scan.id(), output == "json" ? "json" : "table", /*progress=*/output == "table");
  }

  int ScanStatus(int argc, const char* const* argv) {
    FlagParser flags("goalkeeperctl scan status");
    std::string output = "table";
    flags.AddString("output", &output, "table|json", "output format");
    if (int rc = ParseArgs(flags, argc, argv, 1); rc >= 0) return rc;
    if (!OneOf(output, {"table", "json"})) {
      return Usage(absl::StrCat("--output: '", output, "' is not table or json"));
    }
    v1::GetScanRequest req;
    req.set_id(flags.positional()[0]);
    v1::Scan scan;
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    if (grpc::Status s = stub_->GetScan(&ctx, req, &scan); !s.ok()) return RpcError(s);
    PrintScan(scan, output);
    return kOk;
  }

  int ScanWatch(int argc, const char* const* argv) {
    FlagParser flags("goalkeeperctl scan watch");
    if (int rc = ParseArgs(flags, argc, argv, 1); rc >= 0) return rc;
    return Watch(flags.positional()[0], "table", true);
  }

  // Streams progress until the scan ends; prints the final scan.
  int Watch(const std::string& id, const std::string& output, bool progress) {
    v1::WatchScanRequest req;
    req.set_id(id);
    grpc::ClientContext ctx;
    auto reader = stub_->WatchScan(&ctx, req);
    v1::Scan scan;
    bool any = false;
    const bool tty = isatty(fileno(err_)) != 0;
    absl::Time last_line = absl::InfinitePast();
    while (reader->Read(&scan)) {
      any = true;
      if (!progress) continue;
      const double total = static_cast<double>(scan.probes_total());
      const double done = static_cast<double>(scan.probes_done());
      const double frac = total > 0 ? done / total : 0;
      const double eta =
          scan.probes_per_second() > 0 ? (total - done) / scan.probes_per_second() : -1;
      std::string bar(30, ' ');
      for (size_t k = 0; k < static_cast<size_t>(frac * 30); ++k) bar[k] = '#';
      std::string line = absl::StrFormat(
          "[%s] %5.1f%% probes %s/%s rate %s/s eta %s open %d %s", bar, frac * 100, Human(done),
          Human(total), Human(scan.probes_per_second()),
          eta < 0 ? "--" : absl::FormatDuration(absl::Seconds(static_cast<int64_t>(eta))),
          scan.findings(), v1::ScanState_Name(scan.state()));
      if (tty) {
        std::fprintf(err_, "\r\033[K%s", line.c_str());
      } else if (absl::Now() - last_line > absl::Seconds(5) || IsFinal(scan.state())) {
        std::fprintf(err_, "%s\n", line.c_str());
        last_line = absl::Now();
      }
      std::fflush(err_);
    }
    if (tty && progress) std::fprintf(err_, "\n");
    grpc::Status s = reader->Finish();
    if (!s.ok()) return RpcError(s);
    if (!any) return kFailure;
    PrintScan(scan, output);
    if (scan.state() == v1::DEGRADED) return kDegraded;
    return scan.state() == v1::SUCCEEDED ? kOk : kFailure;
  }

  static constexpr uint64_t kListPage = 500;

  int ScanList(int argc, const char* const* argv) {
    FlagParser flags("goalkeeperctl scan list");
    uint64_t limit = 20;
    std::string inventory, output = "table";
    flags.AddUint("limit", &limit, 0, UINT32_MAX, "how many (newest first; 0 = all)");
    flags.AddString("inventory", &inventory, "NAME", "only this inventory");
    flags.AddString("output", &output, "table|json", "output format");
    if (int rc = ParseArgs(flags, argc, argv, 0); rc >= 0) return rc;
    if (!OneOf(output, {"table", "json"})) {
      return Usage(absl::StrCat("--output: '", output, "' is not table or json"));
    }
    // Page after page (each a bounded message) until `limit` or the end.
    v1::ListScansResponse resp;
    v1::ListScansRequest req;
    req.set_inventory(inventory);
    for (;;) {
      const uint64_t want =
          limit == 0 ? kListPage : std::min<uint64_t>(kListPage, limit - resp.scans_size());
      req.set_page_size(static_cast<uint32_t>(want));
      v1::ListScansResponse page;
      grpc::ClientContext ctx;
      SetDeadline(ctx);
      if (grpc::Status s = stub_->ListScans(&ctx, req, &page); !s.ok()) return RpcError(s);
      for (v1::Scan& scan : *page.mutable_scans()) *resp.add_scans() = std::move(scan);
      if (page.next_page_token().empty() ||
          (limit != 0 && static_cast<uint64_t>(resp.scans_size()) >= limit)) {
        break;
      }
      req.set_page_token(page.next_page_token());
    }
    if (output == "json") {
      // Every page in one list: the (empty) page token is not printed.
      std::string json = ToJson(resp);
      if (absl::EndsWith(json, ",\"next_page_token\":\"\"}")) {
        json.erase(json.size() - std::string(",\"next_page_token\":\"\"}").size());
        json += "}";
      }
      std::fprintf(out_, "%s\n", json.c_str());
      return kOk;
    }
    std::fprintf(out_, "%-24s %-10s %-12s %12s %7s %9s  %s\n", "ID", "STATE", "INVENTORY", "PROBES",
                 "DONE", "FINDINGS", "CREATED");
    for (const v1::Scan& s : resp.scans()) {
      const double pct = s.probes_total() == 0 ? 0
                                               : 100.0 * static_cast<double>(s.probes_done()) /
                                                     static_cast<double>(s.probes_total());
      std::fprintf(out_, "%-24s %-10s %-12s %12lu %6.1f%% %9lu  %s\n", s.id().c_str(),
                   v1::ScanState_Name(s.state()).c_str(),
                   s.inventory().empty() ? "-" : s.inventory().c_str(),
                   static_cast<unsigned long>(s.probes_total()), pct,
                   static_cast<unsigned long>(s.findings()), FormatMs(s.created_unix_ms()).c_str());
      if (const std::string missed = MissedCanaries(s); !missed.empty()) {
        std::fprintf(out_, "  missed canaries: %s\n", missed.c_str());
      }
    }
    return kOk;
  }

  int ScanCancel(int argc, const char* const* argv) {
    FlagParser flags("goalkeeperctl scan cancel");
    if (int rc = ParseArgs(flags, argc, argv, 1); rc >= 0) return rc;
    v1::CancelScanRequest req;
    req.set_id(flags.positional()[0]);
    v1::Scan scan;
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    if (grpc::Status s = stub_->CancelScan(&ctx, req, &scan); !s.ok()) return RpcError(s);
    std::fprintf(out_, "%s %s\n", scan.id().c_str(), v1::ScanState_Name(scan.state()).c_str());
    return kOk;
  }

  int ScanDiff(int argc, const char* const* argv) {
    FlagParser flags("goalkeeperctl scan diff");
    std::string base, output = "table";
    flags.AddString("base", &base, "ID", "compare with this scan (default: the previous one)");
    flags.AddString("output", &output, "table|json", "output format");
    if (int rc = ParseArgs(flags, argc, argv, 1); rc >= 0) return rc;
    if (!OneOf(output, {"table", "json"})) {
      return Usage(absl::StrCat("--output: '", output, "' is not table or json"));
    }
    v1::DiffScanRequest req;
    req.set_id(flags.positional()[0]);
    req.set_base_id(base);
    v1::ScanDiff diff;
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    if (grpc::Status s = stub_->DiffScan(&ctx, req, &diff); !s.ok()) return RpcError(s);
    if (output == "json") {
      std::fprintf(out_, "%s\n", ToJson(diff).c_str());
      return kOk;
    }
    std::fprintf(out_, "scan %s against %s\n", diff.scan_id().c_str(),
                 diff.base_scan_id().empty() ? "(no earlier scan)" : diff.base_scan_id().c_str());
    auto print = [&](const char* what, const auto& list) {
      for (const v1::DiffEntry& e : list) {
        std::fprintf(out_, "%-10s %s:%u%s %s%s\n", what, e.ip().c_str(), e.port(),
                     e.transport() == v1::TRANSPORT_UDP ? "/udp" : "", e.service().c_str(),
                     Seen(e.verified(), e.evidence()).c_str());
      }
    };
    print("new", diff.new_open());
    print("still", diff.still_open());
    print("closed", diff.closed());
    print("flap-new", diff.flapped_new());
    print("flap-close", diff.flapped_closed());
    std::fprintf(out_, "%d new, %d still open, %d closed", diff.new_open_size(),
                 diff.still_open_size(), diff.closed_size());
    if (const int flaps = diff.flapped_new_size() + diff.flapped_closed_size(); flaps > 0) {
      std::fprintf(out_, ", %d flapped (not seen again by confirmation)", flaps);
    }
    std::fprintf(out_, "\n");
    return kOk;
  }

  int ScanFindings(int argc, const char* const* argv) {
    FlagParser flags("goalkeeperctl scan findings");
    std::string output = "jsonl";
    flags.AddString("output", &output, "jsonl|csv|table", "output format");
    if (int rc = ParseArgs(flags, argc, argv, 1); rc >= 0) return rc;
    if (!OneOf(output, {"jsonl", "csv", "table"})) {
      return Usage(absl::StrCat("--output: '", output, "' is not jsonl, csv or table"));
    }
    v1::ListFindingsRequest req;
    req.set_scan_id(flags.positional()[0]);
    grpc::ClientContext ctx;
    SetDeadline(ctx, 60);
    auto reader = stub_->ListFindings(&ctx, req);
    if (output == "csv") {
      std::fprintf(out_, "ip,port,state,service,rtt_us,found,transport,verified,version,auth\n");
    }
    if (output == "table") {
      std::fprintf(out_, "%-40s %10s %-8s %-26s %-20s %s\n", "IP", "PORT", "STATE", "SERVICE",
                   "FOUND", "SEEN");
    }
    v1::Finding f;
    while (reader->Read(&f)) {
      const std::string state = f.state() == v1::PROBE_STATE_OPEN ? "open" : "other";
      const bool udp = f.transport() == v1::TRANSPORT_UDP;
      if (output == "jsonl") {
        std::fprintf(out_,
                     "{\"ip\":\"%s\",\"port\":%u,\"state\":\"%s\",\"service\":%s,"
                     "\"rtt_us\":%u,\"found_unix_ms\":%ld,\"transport\":\"%s\","
                     "\"verified\":%s%s}\n",
                     f.ip().c_str(), f.port(), state.c_str(), JsonString(f.service()).c_str(),
                     f.rtt_us(), static_cast<long>(f.found_unix_ms()), udp ? "udp" : "tcp",
                     f.verified() ? "true" : "false",
                     f.has_evidence() ? absl::StrCat(",\"evidence\":", ToJson(f.evidence())).c_str()
                                      : "");
      } else if (output == "csv") {
        std::fprintf(out_, "%s,%u,%s,\"%s\",%u,%s,%s,%s,\"%s\",%s\n", f.ip().c_str(), f.port(),
                     state.c_str(), f.service().c_str(), f.rtt_us(),
                     FormatMs(f.found_unix_ms()).c_str(), udp ? "udp" : "tcp",
                     f.verified() ? "true" : "false", f.evidence().version().c_str(),
                     AuthName(f.evidence().auth()));
      } else {
        std::fprintf(out_, "%-40s %10s %-8s %-26s %-20s %s\n", f.ip().c_str(),
                     absl::StrCat(f.port(), udp ? "/udp" : "/tcp").c_str(), state.c_str(),
                     f.service().c_str(), FormatMs(f.found_unix_ms()).c_str(),
                     Seen(f.verified(), f.evidence()).c_str());
      }
    }
    grpc::Status s = reader->Finish();
    return s.ok() ? kOk : RpcError(s);
  }

  int WorkersList(int argc, const char* const* argv) {
    FlagParser flags("goalkeeperctl workers list");
    std::string output = "table";
    flags.AddString("output", &output, "table|json", "output format");
    if (int rc = ParseArgs(flags, argc, argv, 0); rc >= 0) return rc;
    if (!OneOf(output, {"table", "json"})) {
      return Usage(absl::StrCat("--output: '", output, "' is not table or json"));
    }
    v1::ListWorkersResponse resp;
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    if (grpc::Status s = stub_->ListWorkers(&ctx, v1::ListWorkersRequest(), &resp); !s.ok()) {
      return RpcError(s);
    }
    if (output == "json") {
      std::fprintf(out_, "%s\n", ToJson(resp).c_str());
      return kOk;
    }
    std::fprintf(out_, "%-28s %-20s %6s %12s  %s\n", "ID", "NAME", "LEASES", "PROBES", "LAST SEEN");
    for (const v1::WorkerInfo& w : resp.workers()) {
      std::fprintf(out_, "%-28s %-20s %6u %12lu  %s\n", w.id().c_str(), w.name().c_str(),
                   w.leases(), static_cast<unsigned long>(w.probes_done()),
                   FormatMs(w.last_seen_unix_ms()).c_str());
    }
    return kOk;
  }

  // Every node agent known to the coordinator: its last report, whether it
  // is silent, its findings not yet delivered to the notifier.
  int NodesList(int argc, const char* const* argv) {
    FlagParser flags("goalkeeperctl nodes list");
    std::string output = "table";
    flags.AddString("output", &output, "table|json", "output format");
    if (int rc = ParseArgs(flags, argc, argv, 0); rc >= 0) return rc;
    if (!OneOf(output, {"table", "json"})) {
      return Usage(absl::StrCat("--output: '", output, "' is not table or json"));
    }
    std::unique_ptr<v1::NodeService::Stub> nodes = v1::NodeService::NewStub(channel_);
    v1::ListNodesResponse resp;
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    if (grpc::Status s = nodes->ListNodes(&ctx, v1::ListNodesRequest(), &resp); !s.ok()) {
      return RpcError(s);
    }
    if (output == "json") {
      std::fprintf(out_, "%s\n", ToJson(resp).c_str());
      return kOk;
    }
    std::fprintf(out_, "%-32s %-19s %9s %-7s %13s  %s\n", "NODE", "LAST REPORT", "INTERVAL",
                 "STATE", "OPEN FINDINGS", "AGENT");
    for (const v1::NodeInfo& n : resp.nodes()) {
      std::fprintf(out_, "%-32s %-19s %8us %-7s %13lu  %s\n", n.name().c_str(),
                   FormatMs(n.last_report_unix_ms()).c_str(), n.heartbeat_seconds(),
                   n.silent() ? "silent" : "ok", static_cast<unsigned long>(n.open_findings()),
                   n.agent_version().c_str());
    }
    return kOk;
  }

  // Commands that talk to the notifier: --notifier (required) as the server.
  int UseNotifier(const std::string& notifier) {
    if (notifier.empty()) return Usage("--notifier HOST:PORT is required");
    address_ = notifier;
    server_kind_ = "notifier";
    channel_ = MakeChannel(address_, channel_options_);
    return -1;
  }

  // The audit trail of the coordinator (or, with --notifier, the
  // notifier's), newest first, page after page until --limit.
  int AuditList(int argc, const char* const* argv) {
    FlagParser flags("goalkeeperctl audit list");
    std::string since, identity, method, notifier, output = "table";
    uint64_t limit = 50;
    flags.AddString("since", &since, "DURATION", "only entries newer than this (e.g. 1h, 7d)");
    flags.AddString("identity", &identity, "ID", "only this caller identity (exact)");
    flags.AddString("method", &method, "M", "only this method (StartScan, or its full name)");
    flags.AddUint("limit", &limit, 0, UINT32_MAX, "how many (newest first; 0 = all)");
    flags.AddString("output", &output, "table|json", "output format");
    flags.AddHostPort("notifier", &notifier, PortRule::kDial, false,
                      "read the notifier's audit trail instead");
    if (int rc = ParseArgs(flags, argc, argv, 0); rc >= 0) return rc;
    if (!OneOf(output, {"table", "json"})) {
      return Usage(absl::StrCat("--output: '", output, "' is not table or json"));
    }
    v1::ListAuditRequest req;
    if (!since.empty()) {
      std::optional<absl::Duration> d = ParseCliDuration(since);
      if (!d || *d <= absl::ZeroDuration() || *d == absl::InfiniteDuration()) {
        return Usage(
            absl::StrCat("--since: '", since, "' is not a duration (like 90s, 30m, 12h, 7d)"));
      }
      req.set_since_unix_ms(std::max<int64_t>(0, absl::ToUnixMillis(absl::Now() - *d)));
    }
    req.set_identity(identity);
    req.set_method(method);
    std::unique_ptr<v1::Notifier::Stub> notifier_stub;
    if (!notifier.empty()) {
      if (int rc = UseNotifier(notifier); rc >= 0) return rc;
      notifier_stub = v1::Notifier::NewStub(channel_);
    }
    v1::ListAuditResponse all;
    for (;;) {
      const uint64_t want =
          limit == 0 ? kAuditPage : std::min<uint64_t>(kAuditPage, limit - all.entries_size());
      req.set_limit(static_cast<uint32_t>(want));
      v1::ListAuditResponse page;
      grpc::ClientContext ctx;
      SetDeadline(ctx);
      grpc::Status s = notifier_stub != nullptr ? notifier_stub->ListAudit(&ctx, req, &page)
                                                : stub_->ListAudit(&ctx, req, &page);
      if (!s.ok()) return RpcError(s);
      for (v1::AuditEntry& e : *page.mutable_entries()) *all.add_entries() = std::move(e);
      if (page.next_page_token().empty() ||
          (limit != 0 && static_cast<uint64_t>(all.entries_size()) >= limit)) {
        break;
      }
      req.set_page_token(page.next_page_token());
    }
    if (output == "json") {
      std::string json = ToJson(all);
      if (absl::EndsWith(json, ",\"next_page_token\":\"\"}")) {
        json.erase(json.size() - std::string(",\"next_page_token\":\"\"}").size());
        json += "}";
      }
      std::fprintf(out_, "%s\n", json.c_str());
      return kOk;
    }
    std::fprintf(out_, "%-6s %-19s %-32s %-11s %-16s %-19s %-24s %5s  %s\n", "ID", "TIME (UTC)",
                 "IDENTITY", "ROLE", "METHOD", "CODE", "TARGET", "CALLS", "DETAIL");
    for (const v1::AuditEntry& e : all.entries()) {
      const std::string& m = e.method();
      const std::string short_method =
          m.substr(m.rfind('/') == std::string::npos ? 0 : m.rfind('/') + 1);
      const std::string code = absl::StatusCodeToString(static_cast<absl::StatusCode>(e.code()));
      std::fprintf(
          out_, "%-6ld %-19s %-32s %-11s %-16s %-19s %-24s %5u  %s\n", static_cast<long>(e.id()),
          FormatMs(e.at_unix_ms()).c_str(), e.identity().c_str(),
          e.role().empty() ? "-" : e.role().c_str(), short_method.c_str(), code.c_str(),
          e.target().empty() ? "-" : e.target().c_str(), e.repeated() + 1, e.detail_json().c_str());
    }
    return kOk;
  }

  // Acknowledge: the notifier sends nothing about IP:PORT for DURATION.
  int Ack(int argc, const char* const* argv) {
    FlagParser flags("goalkeeperctl ack");
    std::string for_text, reason, notifier;
    flags.AddString("for", &for_text, "DURATION", "how long (e.g. 7d, 12h)");
    flags.AddString("reason", &reason, "TEXT", "why (kept in the audit trail)");
    flags.AddHostPort("notifier", &notifier, PortRule::kDial, false, "the notifier");
    if (int rc = ParseArgs(flags, argc, argv, 2, "expected IP PORT[/udp]"); rc >= 0) return rc;
    const std::string& ip = flags.positional()[0];
    const std::string& port_arg = flags.positional()[1];
    absl::string_view port_text = port_arg;
    bool udp = false;
    if (absl::ConsumeSuffix(&port_text, "/udp")) {
      udp = true;
    } else {
      absl::ConsumeSuffix(&port_text, "/tcp");
    }
    uint32_t port = 0;
    if (!absl::SimpleAtoi(port_text, &port) || port == 0 || port > 65535) {
      return Usage(absl::StrCat("PORT: '", port_arg, "' is not a port (1-65535, /tcp or /udp)"));
    }
    if (for_text.empty()) return Usage("--for DURATION is required");
    std::optional<absl::Duration> d = ParseCliDuration(for_text);
    if (!d || *d <= absl::ZeroDuration() || *d == absl::InfiniteDuration()) {
      return Usage(
          absl::StrCat("--for: '", for_text, "' is not a duration (like 90s, 30m, 12h, 7d)"));
    }
    if (reason.empty()) return Usage("--reason TEXT is required");
    if (int rc = UseNotifier(notifier); rc >= 0) return rc;
    const absl::Time until = absl::Now() + *d;
    v1::AcknowledgeRequest req;
    req.set_ip(ip);
    req.set_port(port);
    req.set_transport(udp ? v1::TRANSPORT_UDP : v1::TRANSPORT_TCP);
    req.set_until_unix_ms(absl::ToUnixMillis(until));
    req.set_reason(reason);
    v1::AcknowledgeResponse resp;
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    auto stub = v1::Notifier::NewStub(channel_);
    if (grpc::Status s = stub->Acknowledge(&ctx, req, &resp); !s.ok()) return RpcError(s);
    std::fprintf(out_, "acknowledged %s:%u%s until %s UTC\n", ip.c_str(), port,
                 udp ? "/udp" : "", FormatMs(absl::ToUnixMillis(until)).c_str());
    return kOk;
  }

  static constexpr uint64_t kAuditPage = 1000;

  std::FILE* out_;
  std::FILE* err_;
  std::string server_kind_ = "coordinator";
  std::string address_;
  // How every channel is dialled (TLS files or --insecure, a bearer token):
  // the coordinator's, and any other server's the same way.
  ChannelOptions channel_options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
};

}  // namespace

int RunCtl(int argc, const char* const* argv, std::FILE* out, std::FILE* err) {
  return Ctl(out, err).Main(argc, argv);
}

}  // namespace goalkeeper
