// Whole-file reads and writes for tests (fixtures, logs, mail spools).
//
//   WriteFile(dir + "/os.pw", "secret\n");
//   EXPECT_THAT(ReadFile(dir + "/coordinator.log"), HasSubstr("listening"));
//
// Thread-safety: plain functions.
#ifndef GOALKEEPER_TESTS_TESTING_FILES_H_
#define GOALKEEPER_TESTS_TESTING_FILES_H_

#include <fstream>
#include <sstream>
#include <string>

namespace goalkeeper::testing {

// The file's bytes; "" when it cannot be read.
inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Replaces the file's contents.
inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace goalkeeper::testing

#endif  // GOALKEEPER_TESTS_TESTING_FILES_H_
