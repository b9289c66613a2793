// goalkeeperctl: the operators' command line for the coordinator.
//
//   goalkeeperctl [--coordinator HOST:PORT] scan start --targets 10.0.0.0/24 --ports databases --wait
//   goalkeeperctl scan status ID --output json
//   goalkeeperctl scan watch ID | scan list | scan cancel ID | scan diff ID
//   goalkeeperctl scan findings ID --output jsonl|csv|table
//   goalkeeperctl workers list
//   goalkeeperctl nodes list --output json     # node agents: last report, silent, findings
//   goalkeeperctl audit list --since 24h --method StartScan [--notifier HOST:PORT]
//   goalkeeperctl ack 10.0.0.5 5432 --for 7d --reason "OPS-1" --notifier HOST:PORT
//
// --coordinator defaults to $GOALKEEPER_COORDINATOR, then 127.0.0.1:7070;
// `audit list --notifier` and `ack` talk to the notifier instead (errors
// then name it: "notifier 127.0.0.1:7071 is unreachable"). DURATION: 90s,
// 30m, 12h, 7d, 2w or combinations (1d12h).
// Exit codes: 0 success; 1 runtime failure (coordinator unreachable, a
// waited-for scan that did not succeed); 2 bad usage or input the
// coordinator rejected (bad flags, targets outside allowed ranges, unknown
// scan id).
#ifndef GOALKEEPER_CLI_CTL_H_
#define GOALKEEPER_CLI_CTL_H_

#include <cstdio>

namespace goalkeeper {

int RunCtl(int argc, const char* const* argv, std::FILE* out, std::FILE* err);

}  // namespace goalkeeper

#endif  // GOALKEEPER_CLI_CTL_H_
