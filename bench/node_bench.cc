// Node-check throughput: the agent's firewall-log path over one syslog file,
// on the calling thread. LogFollower (a first start: no checkpoint, catch up
// from the file's start, checkpoint in a temporary directory; the lines
// without the rule's literal prefix skipped in bulk, line_literal) ->
// ParseFirewallLine -> FirewallRule::Matches -> HitAggregator (the default
// rule: 10 hits in 10 minutes per source, quiet 1 hour), plus a total per
// source to check.
//
//   node_bench --log /tmp/syslog --expected /tmp/expected.tsv --counts /tmp/gk.tsv
//
// Prints `key value` lines (lines, bytes, seconds, mb_per_s, hits, sources,
// findings, ...) and `source SRC HITS FINDINGS` per source, writes
// SOURCE<TAB>HITS<TAB>FINDINGS sorted by source to --counts, and exits 1 when
// --expected (from bench/gen_syslog.py) disagrees with what was counted:
// lines, bytes, hits, findings, or any source's hits or findings.
//
// `seconds` runs from LogFollower::Open to the final Commit (the checkpoint
// with the aggregator's state, fsync'd), so it includes every open, read,
// parse and the one commit; process start and the result files do not
// count. `cpu_seconds` is the process's CPU time (user + system) over the
// same span, less disturbed by other work on a shared machine.
//
// --filter says where lines without the rule's literal prefix are dropped:
// `follower` (default: LogFollowerOptions::line_literal, skipped in bulk),
// `callback` (every line delivered, FirewallRule::MayMatchLine on each) or
// `none` (every line parsed), to show what each step is worth.
//
// Thread-safety: a single-threaded program.
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/flags.h"
#include "common/ip_address.h"
#include "node/firewall_line.h"
#include "node/firewall_rule.h"
#include "node/hit_aggregator.h"
#include "node/log_follower.h"

namespace {

double CpuSeconds() {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

using goalkeeper::FirewallLine;
using goalkeeper::FirewallLineStatus;

struct Expected {
  std::map<std::string, std::string> header;                     // "lines" -> "1000000"
  std::map<std::string, std::pair<uint64_t, uint64_t>> sources;  // hits, findings
};

bool ReadExpected(const std::string& path, Expected* e) {
  std::ifstream in(path);
  if (!in) return false;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::vector<std::string> kv = absl::StrSplit(line.substr(1), ' ', absl::SkipEmpty());
      if (kv.size() == 2) e->header[kv[0]] = kv[1];
      continue;
    }
    std::vector<std::string> f = absl::StrSplit(line, '\t');
    uint64_t hits = 0, findings = 0;
    if (f.size() != 3 || !absl::SimpleAtoi(f[1], &hits) || !absl::SimpleAtoi(f[2], &findings)) {
      std::fprintf(stderr, "node_bench: %s: bad line '%s'\n", path.c_str(), line.c_str());
      return false;
    }
    e->sources[f[0]] = {hits, findings};
  }
  return true;
}

struct AddrKey {
  goalkeeper::Family family;
  absl::uint128 value;
  friend bool operator==(const AddrKey&, const AddrKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const AddrKey& k) {
    return H::combine(std::move(h), k.family, absl::Uint128High64(k.value),
                      absl::Uint128Low64(k.value));
  }
};

}  // namespace

int main(int argc, char** argv) {
  goalkeeper::FlagParser flags("node_bench");
  std::string log_path, expected_path, counts_path, reference_text;
  std::string filter = "follower";
  flags.AddString("log", &log_path, "FILE", "syslog file to read (from bench/gen_syslog.py)");
  flags.AddString("expected", &expected_path, "TSV", "gen_syslog.py's answer to check against");
  flags.AddString("counts", &counts_path, "TSV", "where to write the per-source counts");
  flags.AddString("reference", &reference_text, "RFC3339",
                  "'now' for the RFC 3164 year (default: --expected's reference)");
  flags.AddString("filter", &filter, "follower|callback|none", "where non-hits are dropped");
  if (absl::Status s = flags.Parse(argc - 1, argv + 1); !s.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  if (filter != "follower" && filter != "callback" && filter != "none") {
    std::fprintf(stderr, "error: --filter '%s' is not follower, callback or none\n",
                 filter.c_str());
    return 2;
  }
  if (log_path.empty()) {
    std::fprintf(stderr, "error: --log is required\n");
    return 2;
  }
  Expected expected;
  if (!expected_path.empty() && !ReadExpected(expected_path, &expected)) {
    std::fprintf(stderr, "error: --expected '%s' cannot be read\n", expected_path.c_str());
    return 2;
  }
  if (reference_text.empty() && expected.header.count("reference") != 0) {
    reference_text = expected.header["reference"];
  }
  goalkeeper::FirewallLineContext ctx;  // UTC, as the generator writes
  ctx.reference = absl::Now();
  if (!reference_text.empty()) {
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, reference_text, &ctx.reference, &err)) {
      std::fprintf(stderr, "error: --reference '%s': %s\n", reference_text.c_str(), err.c_str());
      return 2;
    }
  }

  char tmpl[] = "/tmp/node_bench.XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string ckpt_dir = tmpl;
  goalkeeper::node::LogFollowerOptions o;
  o.globs = {log_path};
  o.checkpoint_path = ckpt_dir + "/tftp.ckpt";
  o.catch_up_max_age = absl::InfiniteDuration();  // catch up from the start

  absl::StatusOr<goalkeeper::FirewallRule> rule =
      goalkeeper::FirewallRule::Create(goalkeeper::DefaultFirewallRule());
  if (!rule.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(rule.status().message()).c_str());
    return 1;
  }
  if (filter == "follower") o.line_literal = std::string(rule->RequiredLiteral());
  const bool per_line_filter = filter == "callback";
  goalkeeper::HitAggregator agg(goalkeeper::AggregatorOptions::FromRule(rule->spec()));
  absl::flat_hash_map<AddrKey, uint64_t> hits_by_source;
  std::map<std::string, uint64_t> findings_by_source;
  uint64_t parsed = 0, not_hits = 0, bad = 0, hits = 0, findings = 0, polls = 0;
  FirewallLine fl;
  const goalkeeper::SystemClock clock;

  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = CpuSeconds();
  absl::StatusOr<std::unique_ptr<goalkeeper::node::LogFollower>> follower =
      goalkeeper::node::LogFollower::Open(o, clock);
  if (!follower.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(follower.status().message()).c_str());
    return 1;
  }
  const goalkeeper::node::LineCallback on_line = [&](const goalkeeper::node::LogLine& l) {
    if (per_line_filter && !rule->MayMatchLine(l.text)) return true;
    ++parsed;
    const FirewallLineStatus st = goalkeeper::ParseFirewallLine(l.text, ctx, &fl);
    if (st != FirewallLineStatus::kOk) {
      if (st != FirewallLineStatus::kNotFirewall) ++bad;
      return true;
    }
    if (!rule->Matches(fl)) {
      ++not_hits;
      return true;
    }
    ++hits;
    ++hits_by_source[AddrKey{fl.src.family, fl.src.value}];
    if (std::optional<goalkeeper::BruteForceFinding> f = agg.Add(goalkeeper::HitFromLine(fl))) {
      ++findings;
      ++findings_by_source[f->source];
    }
    return true;
  };
  for (;;) {
    ++polls;
    const goalkeeper::node::PollResult r = (*follower)->Poll(on_line);
    if (!r.more) break;
  }
  absl::StatusOr<uint64_t> seq = (*follower)->Commit(agg.SerializeState());
  const auto t1 = std::chrono::steady_clock::now();
  const double cpu_seconds = CpuSeconds() - cpu0;
  if (!seq.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(seq.status().message()).c_str());
    return 1;
  }
  const goalkeeper::node::LogFollowerStats& fs = (*follower)->stats();
  const double seconds = std::chrono::duration<double>(t1 - t0).count();
  // Bytes as read from the file: every line and its newline.
  const uint64_t lines = fs.lines + fs.filtered_lines;
  const uint64_t bytes = fs.bytes + fs.filtered_bytes + lines - fs.unterminated_lines;

  std::map<std::string, std::pair<uint64_t, uint64_t>> got;
  for (const auto& [k, n] : hits_by_source) {
    got[goalkeeper::IpAddress{k.family, k.value}.ToString()].first = n;
  }
  for (const auto& [s, n] : findings_by_source) got[s].second = n;

  std::printf("lines %llu\nbytes %llu\nseconds %.6f\nmb_per_s %.1f\n",
              static_cast<unsigned long long>(lines), static_cast<unsigned long long>(bytes),
              seconds, static_cast<double>(bytes) / 1e6 / seconds);
  std::printf("cpu_seconds %.6f\ncpu_mb_per_s %.1f\n", cpu_seconds,
              static_cast<double>(bytes) / 1e6 / cpu_seconds);
  std::printf("parsed %llu\nhits %llu\nnot_hits %llu\nbad_lines %llu\nsources %zu\n",
              static_cast<unsigned long long>(parsed), static_cast<unsigned long long>(hits),
              static_cast<unsigned long long>(not_hits), static_cast<unsigned long long>(bad),
              got.size());
  std::printf("findings %llu\npolls %llu\nfilter %s\ndelivered %llu\n",
              static_cast<unsigned long long>(findings), static_cast<unsigned long long>(polls),
              filter.c_str(), static_cast<unsigned long long>(fs.lines));
  for (const auto& [src, hf] : got) {
    std::printf("source %s %llu %llu\n", src.c_str(), static_cast<unsigned long long>(hf.first),
                static_cast<unsigned long long>(hf.second));
  }
  if (!counts_path.empty()) {
    std::ofstream out(counts_path);
    for (const auto& [s, hf] : got) out << s << '\t' << hf.first << '\t' << hf.second << '\n';
    if (!out) {
      std::fprintf(stderr, "error: cannot write --counts '%s'\n", counts_path.c_str());
      return 1;
    }
  }
  ::unlink(o.checkpoint_path.c_str());
  ::rmdir(ckpt_dir.c_str());

  if (expected_path.empty()) return 0;
  int wrong = 0;  // only the first 20 are printed
  auto check = [&](const char* what, uint64_t have, const std::string& want) {
    if (want.empty() || std::to_string(have) == want) return;
    if (wrong < 20)
      std::fprintf(stderr, "MISMATCH %s: counted %llu, expected %s\n", what,
                   static_cast<unsigned long long>(have), want.c_str());
    ++wrong;
  };
  check("lines", lines, expected.header["lines"]);
  check("bytes", bytes, expected.header["bytes"]);
  check("hits", hits, expected.header["hits"]);
  check("findings", findings, expected.header["findings"]);
  if (got != expected.sources) {
    for (const auto& [s, hf] : expected.sources) {
      auto it = got.find(s);
      if (it == got.end() || it->second != hf) {
        if (wrong < 20)
          std::fprintf(stderr,
                       "MISMATCH source %s: counted %llu hits / %llu findings, expected "
                       "%llu / %llu\n",
                       s.c_str(),
                       static_cast<unsigned long long>(it == got.end() ? 0 : it->second.first),
                       static_cast<unsigned long long>(it == got.end() ? 0 : it->second.second),
                       static_cast<unsigned long long>(hf.first),
                       static_cast<unsigned long long>(hf.second));
        ++wrong;
      }
    }
    for (const auto& [s, hf] : got) {
      if (expected.sources.count(s) == 0) {
        if (wrong < 20)
          std::fprintf(stderr, "MISMATCH source %s: counted, not expected\n", s.c_str());
        ++wrong;
      }
    }
  }
  std::printf("check %s\n", wrong == 0 ? "ok" : "FAILED");
  return wrong == 0 ? 0 : 1;
}
