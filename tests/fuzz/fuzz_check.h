// Shared by the libFuzzer targets: an invariant check that aborts (libFuzzer
// then saves the input as a crash) and the input as text.
//
//   FUZZ_CHECK(parsed->size() <= input.size());
#ifndef GOALKEEPER_TESTS_FUZZ_FUZZ_CHECK_H_
#define GOALKEEPER_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/string_view.h"

#define FUZZ_CHECK(cond)                                                            \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (false)

namespace goalkeeper {

inline absl::string_view FuzzText(const uint8_t* data, size_t size) {
  return absl::string_view(reinterpret_cast<const char*>(data), size);
}

}  // namespace goalkeeper

#endif  // GOALKEEPER_TESTS_FUZZ_FUZZ_CHECK_H_
