#include "engine/result_writer.h"

#include <cstdio>

#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

ProbeResult Result(const char* ip, uint16_t port, ProbeState s, uint32_t rtt) {
  return {*IpAddress::Parse(ip), port, s, rtt, 0};
}

TEST(ResultWriterTest, FormatsJsonLines) {
  std::string out;
  FormatResult(Result("127.0.0.5", 80, ProbeState::kOpen, 123), OutputFormat::kJsonl, out);
  FormatResult(Result("::1", 22, ProbeState::kFiltered, 0), OutputFormat::kJsonl, out);
  EXPECT_EQ(out,
            "{\"ip\":\"127.0.0.5\",\"port\":80,\"state\":\"open\",\"rtt_us\":123}\n"
            "{\"ip\":\"::1\",\"port\":22,\"state\":\"filtered\",\"rtt_us\":0}\n");
}

TEST(ResultWriterTest, FormatsTextWithBracketedIPv6) {
  std::string out;
  FormatResult(Result("127.0.0.5", 80, ProbeState::kOpen, 1500), OutputFormat::kText, out);
  FormatResult(Result("2001:db8::1", 443, ProbeState::kClosed, 0), OutputFormat::kText, out);
  EXPECT_EQ(out, "127.0.0.5:80 open 1.500ms\n[2001:db8::1]:443 closed\n");
}

std::string WriteAll(bool all_states) {
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* f = open_memstream(&buf, &len);
  {
    ResultWriter w(f, OutputFormat::kText, all_states);
    w.OnResult(Result("127.0.0.1", 1, ProbeState::kClosed, 5));
    w.OnResult(Result("127.0.0.1", 2, ProbeState::kOpen, 5));
    w.OnResult(Result("127.0.0.1", 3, ProbeState::kUnreachable, 0));
  }
  std::fclose(f);
  std::string s(buf, len);
  free(buf);
  return s;
}

TEST(ResultWriterTest, WritesOnlyOpenPortsUnlessAllStates) {
  EXPECT_EQ(WriteAll(false), "127.0.0.1:2 open 0.005ms\n");
  EXPECT_EQ(WriteAll(true),
            "127.0.0.1:1 closed 0.005ms\n127.0.0.1:2 open 0.005ms\n127.0.0.1:3 unreachable\n");
}

}  // namespace
}  // namespace goalkeeper
