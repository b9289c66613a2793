#include "common/version.h"

#include "absl/strings/str_cat.h"

#ifndef GOALKEEPER_VERSION
#error "GOALKEEPER_VERSION is defined by common/CMakeLists.txt from project(VERSION)"
#endif

namespace goalkeeper {

absl::string_view Version() { return GOALKEEPER_VERSION; }

std::string VersionLine(absl::string_view program) { return absl::StrCat(program, " ", Version()); }

}  // namespace goalkeeper
