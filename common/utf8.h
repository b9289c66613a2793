// UTF-8 stepping for text that must be cut or counted by character (email
// encoded words, Telegram's 4096-character limit) without trusting it to be
// valid.
//
//   for (size_t i = 0; i < s.size(); i += Utf8SequenceLength(s, i)) ++chars;
//
// Thread-safety: pure functions.
#ifndef GOALKEEPER_COMMON_UTF8_H_
#define GOALKEEPER_COMMON_UTF8_H_

#include <cstddef>

#include "absl/strings/string_view.h"

namespace goalkeeper {

// Octets of the UTF-8 sequence that starts at s[i] (requires i < s.size()).
// A byte that starts no valid, complete sequence counts as one on its own, so
// any input is consumed and nothing is split inside a valid character.
inline size_t Utf8SequenceLength(absl::string_view s, size_t i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  const size_t n = c < 0x80                  ? 1
                   : (c >= 0xc2 && c <= 0xdf) ? 2
                   : (c >= 0xe0 && c <= 0xef) ? 3
                   : (c >= 0xf0 && c <= 0xf4) ? 4
                                              : 1;
  if (i + n > s.size()) return 1;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 1;
  }
  return n;
}

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_UTF8_H_
