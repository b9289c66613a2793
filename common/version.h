// The project version, from CMake's project(VERSION) in one place
// (common/CMakeLists.txt compiles it into version.cc), so every binary's
// --version and build-info metric say the same thing.
//
//   std::puts(VersionLine("goalkeeper-worker").c_str());   // "goalkeeper-worker 0.1.0"
//
// Thread-safety: thread-safe (constants).
#ifndef GOALKEEPER_COMMON_VERSION_H_
#define GOALKEEPER_COMMON_VERSION_H_

#include <string>

#include "absl/strings/string_view.h"

namespace goalkeeper {

// "0.1.0".
absl::string_view Version();
// "PROGRAM VERSION": what `--version` prints (without the newline).
std::string VersionLine(absl::string_view program);

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_VERSION_H_
