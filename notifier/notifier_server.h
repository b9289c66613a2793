// Runs the notifier process: loads secrets (files or environment, never
// logged), opens the SQLite store, serves goalkeeper.v1.Notifier (with
// grpc.health.v1 and reflection) and /metrics, and runs the loop that turns
// stored reports into notifications and sends the outbox, until SIGTERM or
// SIGINT. Logs "notifier listening grpc=HOST:PORT metrics=..." once bound.
#ifndef GOALKEEPER_NOTIFIER_NOTIFIER_SERVER_H_
#define GOALKEEPER_NOTIFIER_NOTIFIER_SERVER_H_

#include "notifier/config.h"

namespace goalkeeper {

// 0 after a clean shutdown; 1 when it cannot start (a missing secret, a
// port in use, an unreadable database), with one line naming the cause.
int RunNotifier(const NotifierConfig& config);

}  // namespace goalkeeper

#endif  // GOALKEEPER_NOTIFIER_NOTIFIER_SERVER_H_
