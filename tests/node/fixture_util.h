// Reads the node fixtures (tests/fixtures/node/) for the node tests.
//
//   std::vector<std::string> lines = FixtureLines("kern.log");
//
// Thread-safety: pure functions over files.
#ifndef GOALKEEPER_TESTS_NODE_FIXTURE_UTIL_H_
#define GOALKEEPER_TESTS_NODE_FIXTURE_UTIL_H_

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace goalkeeper {

inline std::string FixtureText(const std::string& name) {
  std::ifstream in(std::string(GOALKEEPER_SOURCE_DIR) + "/tests/fixtures/node/" + name,
                   std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::vector<std::string> FixtureLines(const std::string& name) {
  std::vector<std::string> lines;
  std::istringstream in(FixtureText(name));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace goalkeeper

#endif  // GOALKEEPER_TESTS_NODE_FIXTURE_UTIL_H_
