// What an owner's email says about one exposure: a line of what answered,
// rendered from a probe's Evidence in plain words, e.g.
//
//   probes::Evidence ev;  // service "Redis", verified, version "7.0.15", kNotRequired
//   SeenText(6379, probes::Transport::kTcp, ev);
//   // "Redis 7.0.15 answered without a password"
//   // unverified: "port 27017/tcp is open; we could not confirm which service answers"
//
// The result is printable ASCII without line breaks (probes::Sanitise), at
// most kMaxSeenText bytes, whatever the evidence holds (the email's body
// takes it as is; tests/fuzz/email_render_fuzzer.cc checks it).
//
// Thread-safety: pure functions.
#ifndef GOALKEEPER_NOTIFIER_EXPOSURE_TEXT_H_
#define GOALKEEPER_NOTIFIER_EXPOSURE_TEXT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "probes/evidence.h"

namespace goalkeeper {

inline constexpr size_t kMaxSeenText = 400;

// `ev.service` is what answered (or the catalogue's name when unverified),
// `ev.verified` whether a probe confirmed it.
std::string SeenText(uint32_t port, probes::Transport transport, const probes::Evidence& ev);

// "31x" (>= 10), "2.5x" (below), "" for 0 or less.
std::string AmplificationText(double amplification);

}  // namespace goalkeeper

#endif  // GOALKEEPER_NOTIFIER_EXPOSURE_TEXT_H_
