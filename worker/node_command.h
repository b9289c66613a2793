// `goalkeeper-worker node`: the node agent (node/agent.h) on one host,
// reporting to the coordinator's NodeService.
//
//   goalkeeper-worker node --coordinator HOST:PORT --config /etc/goalkeeper/node.yaml
//       [--node-name NAME]        (default $NODE_NAME, then the host name)
//       [--node-labels k=v,k2=v2] (default $NODE_LABELS; for listeners.node_policies)
//       [--proc-root DIR]         (default /proc: reads DIR/net/{tcp,tcp6,udp,udp6})
//   goalkeeper-worker node --check-config [flags]
//
// --coordinator defaults to $GOALKEEPER_COORDINATOR. --check-config loads
// and checks the flags and the config exactly as a start does, prints the
// effective settings as YAML and exits without touching the spool or
// dialing the coordinator.
//
// Exit codes: 0 after SIGTERM/SIGINT (everything read so far committed) or
// valid settings with --check-config; 1 runtime failure (the checkpoint
// directory, spool or a checkpoint cannot be used); 2 bad usage or config
// (one line naming the bad value).
#ifndef GOALKEEPER_WORKER_NODE_COMMAND_H_
#define GOALKEEPER_WORKER_NODE_COMMAND_H_

namespace goalkeeper {

int RunNodeCommand(int argc, const char* const* argv);

}  // namespace goalkeeper

#endif  // GOALKEEPER_WORKER_NODE_COMMAND_H_
