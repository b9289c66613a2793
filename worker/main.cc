// goalkeeper-worker: the scanning node. Subcommands:
//   scan   one-shot scan from the command line (see scan_command.h)
//   run    join a coordinator's fleet (see run_command.h)
//   node   the node agent: firewall log and listeners of this host (see node_command.h)
#include <cstdio>
#include <cstring>

#include "common/version.h"
#include "worker/node_command.h"
#include "worker/run_command.h"
#include "worker/scan_command.h"

namespace {

constexpr char kUsage[] =
    "usage: goalkeeper-worker <command> [flags]\n"
    "       goalkeeper-worker --version\n"
    "commands:\n"
    "  scan    scan targets now and print open ports (--help for flags)\n"
    "  run     pull and scan shards from a coordinator (--help for flags)\n"
    "  node    node agent: this host's firewall log and listeners (--help for flags)\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "help") == 0) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? goalkeeper::kExitUsage : goalkeeper::kExitOk;
  }
  if (std::strcmp(argv[1], "--version") == 0) {
    std::printf("%s\n", goalkeeper::VersionLine("goalkeeper-worker").c_str());
    return goalkeeper::kExitOk;
  }
  if (std::strcmp(argv[1], "scan") == 0) {
    return goalkeeper::RunScanCommand(argc - 2, argv + 2, stdout, stderr);
  }
  if (std::strcmp(argv[1], "run") == 0) {
    return goalkeeper::RunWorkerCommand(argc - 2, argv + 2);
  }
  if (std::strcmp(argv[1], "node") == 0) {
    return goalkeeper::RunNodeCommand(argc - 2, argv + 2);
  }
  std::fprintf(stderr, "error: unknown command '%s'\n%s", argv[1], kUsage);
  return goalkeeper::kExitUsage;
}
