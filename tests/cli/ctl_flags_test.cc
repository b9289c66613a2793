// goalkeeperctl's flag rule, as every binary's: a scalar flag given twice is
// a usage error naming it (exit 2) rather than "the last one wins". These
// cases fail before any RPC, so no coordinator is needed.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/ctl.h"
#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

struct CtlRun {
  int exit_code = 0;
  std::string out;
  std::string err;
};

std::string ReadAll(std::FILE* f) {
  std::rewind(f);
  std::string s;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  std::fclose(f);
  return s;
}

CtlRun Ctl(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  CtlRun r;
  r.exit_code = RunCtl(static_cast<int>(argv.size()), argv.data(), out, err);
  r.out = ReadAll(out);
  r.err = ReadAll(err);
  return r;
}

std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

TEST(CtlFlagsTest, RepeatedCoordinatorIsAUsageError) {
  CtlRun r = Ctl({"--insecure", "--coordinator", "127.0.0.1:1", "--coordinator=127.0.0.1:2",
                  "workers", "list"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(FirstLine(r.err), "error: --coordinator given twice");
  EXPECT_EQ(r.out, "");
}

TEST(CtlFlagsTest, RepeatedScalarFlagOfACommandIsAUsageError) {
  CtlRun r = Ctl({"--insecure", "--coordinator", "127.0.0.1:1", "scan", "start", "--targets",
                  "127.0.0.1", "--ports", "80", "--profile", "a", "--profile", "b"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(FirstLine(r.err), "error: --profile given twice");
}

TEST(CtlFlagsTest, RepeatedOutputOfScanListIsAUsageError) {
  CtlRun r = Ctl({"--insecure", "--coordinator", "127.0.0.1:1", "scan", "list", "--output", "json",
                  "--output", "table"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(FirstLine(r.err), "error: --output given twice");
}

TEST(CtlFlagsTest, NodesListRefusesBadOutputRepeatsAndArgumentsBeforeAnyRpc) {
  CtlRun r =
      Ctl({"--insecure", "--coordinator", "127.0.0.1:1", "nodes", "list", "--output", "xml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(FirstLine(r.err), "error: --output: 'xml' is not table or json");
  r = Ctl({"--insecure", "--coordinator", "127.0.0.1:1", "nodes", "list", "--output", "json",
           "--output", "table"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(FirstLine(r.err), "error: --output given twice");
  r = Ctl({"--insecure", "--coordinator", "127.0.0.1:1", "nodes", "list", "node-a"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(FirstLine(r.err), "error: unexpected argument");
  r = Ctl({"--insecure", "--coordinator", "127.0.0.1:1", "nodes", "show"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(FirstLine(r.err), "error: unknown command 'nodes show'");
  r = Ctl({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("  nodes list [--output table|json]\n"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace goalkeeper
