// Finds a literal (a firewall rule's LOG prefix) in a buffer of many log
// lines at memory speed and counts the newlines it passes on the way, so a
// follower can skip the lines that cannot be hits without looking at each one
// (what `grep -F` does).
//
//   LiteralScanner scan("IPTables-TFTP-Rejected: ");
//   uint64_t newlines = 0;
//   size_t at = scan.Find(buffer, &newlines);   // npos: not in buffer
//   // `newlines` now counts the '\n' in buffer[0, at) (all of it on npos).
//
// Candidates are positions where two rare bytes of the literal (uppercase
// and punctuation before lowercase, digits and spaces) sit at the right
// distance, tested 32 at a time with AVX2 when the CPU has it (checked at
// start-up), else 16 at a time with SSE2 (every x86-64), then confirmed with
// memcmp; on other CPUs a plain loop. Newlines are counted in the same pass
// (per-byte-lane counters folded every 255 blocks). Reads stay inside `hay`.
//
// Thread-safety: immutable after construction; Find may be called from any
// thread.
#ifndef GOALKEEPER_NODE_LITERAL_SCAN_H_
#define GOALKEEPER_NODE_LITERAL_SCAN_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace goalkeeper::node {

class LiteralScanner {
 public:
  static constexpr size_t npos = absl::string_view::npos;

  // Which loop runs: the widest the CPU has, or a narrower one (tests check
  // each against the others on any machine).
  enum class Width { kBest, kSse2, kScalar };

  // `literal` must not be empty and must not hold '\n' (a line-level match).
  explicit LiteralScanner(absl::string_view literal, Width width = Width::kBest);

  // The position of the first occurrence of the literal in `hay`, or npos;
  // adds the number of '\n' bytes before that position (in all of `hay` on
  // npos) to *newlines.
  size_t Find(absl::string_view hay, uint64_t* newlines) const;

  const std::string& literal() const { return literal_; }

 private:
  std::string literal_;
  size_t rare1_ = 0;  // offsets of the two bytes tested first
  size_t rare2_ = 0;
  Width width_;
};

}  // namespace goalkeeper::node

#endif  // GOALKEEPER_NODE_LITERAL_SCAN_H_
