// LiteralScanner against a plain search: every position and newline count,
// over random text made of the literal's own bytes and newlines (so
// near-misses abound) and of every length around the vector widths.
#include "node/literal_scan.h"

#include <random>
#include <string>

#include "gtest/gtest.h"

namespace goalkeeper::node {
namespace {

// The reference: first occurrence and the newlines before it (or in all).
size_t Naive(const std::string& hay, const std::string& literal, uint64_t* newlines) {
  const size_t at = hay.find(literal);
  const size_t end = at == std::string::npos ? hay.size() : at;
  for (size_t i = 0; i < end; ++i) *newlines += hay[i] == '\n' ? 1 : 0;
  return at;
}

TEST(LiteralScannerTest, FindsTheFirstOccurrenceAndCountsTheNewlinesBeforeIt) {
  LiteralScanner scan("IPTables-TFTP-Rejected: ");
  const std::string hay =
      "Mar 31 22:00:07 node-1 sshd[1]: IPTables-TFTP-Rejected without its colon\n"
      "Mar 31 22:00:08 node-1 kernel: IPTables-TFTP-Rejected: IN=eth0 OUT= SRC=192.0.2.1\n"
      "Mar 31 22:00:09 node-1 kernel: IPTables-TFTP-Rejected: IN=eth0 OUT= SRC=192.0.2.2\n";
  uint64_t newlines = 0;
  EXPECT_EQ(scan.Find(hay, &newlines), hay.find("IPTables-TFTP-Rejected: "));
  EXPECT_EQ(newlines, 1u);
  newlines = 5;  // added to
  EXPECT_EQ(scan.Find("no\nsuch\nthing\n", &newlines), LiteralScanner::npos);
  EXPECT_EQ(newlines, 8u);
}

class LiteralScannerWidthTest : public ::testing::TestWithParam<LiteralScanner::Width> {};

TEST_P(LiteralScannerWidthTest, AgreesWithAPlainSearchOnRandomText) {
  std::mt19937 rng(10);
  for (const std::string literal :
       {"IPTables-TFTP-Rejected: ", "x", "ab", "aaaa", "a\tb", "DROP "}) {
    LiteralScanner scan(literal, GetParam());
    const std::string alphabet = literal + "\n\n";
    for (int round = 0; round < 3000; ++round) {
      const size_t len = rng() % 200;
      std::string hay(len, ' ');
      for (char& c : hay) c = alphabet[rng() % alphabet.size()];
      if (len > literal.size() && rng() % 3 == 0) {
        hay.replace(rng() % (len - literal.size()), literal.size(), literal);
      }
      uint64_t want_nl = 0, got_nl = 0;
      const size_t want = Naive(hay, literal, &want_nl);
      ASSERT_EQ(scan.Find(hay, &got_nl), want) << "literal '" << literal << "' in '" << hay << "'";
      ASSERT_EQ(got_nl, want_nl) << "literal '" << literal << "' in '" << hay << "'";
    }
  }
}

TEST_P(LiteralScannerWidthTest, FindsTheLiteralAtEveryOffsetOfALongBuffer) {
  const std::string literal = "IPTables-TFTP-Rejected: ";
  LiteralScanner scan(literal, GetParam());
  std::string base;
  for (int i = 0; i < 40; ++i) base += "Mar 31 22:00:07 node-1 CRON[12]: (root) CMD (true)\n";
  for (size_t at = 0; at + literal.size() <= base.size(); at += 7) {
    std::string hay = base;
    hay.replace(at, literal.size(), literal);
    uint64_t want_nl = 0, got_nl = 0;
    const size_t want = Naive(hay, literal, &want_nl);
    ASSERT_EQ(scan.Find(hay, &got_nl), want) << "at " << at;
    ASSERT_EQ(got_nl, want_nl) << "at " << at;
  }
  // More than 255 vector blocks without a match: the per-lane counters fold.
  std::string big;
  for (int i = 0; i < 5000; ++i) big += "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n";
  uint64_t nl = 0;
  EXPECT_EQ(scan.Find(big, &nl), LiteralScanner::npos);
  EXPECT_EQ(nl, big.size());
  big += literal;
  nl = 0;
  EXPECT_EQ(scan.Find(big, &nl), big.size() - literal.size());
  EXPECT_EQ(nl, big.size() - literal.size());
}

INSTANTIATE_TEST_SUITE_P(EveryWidth, LiteralScannerWidthTest,
                         ::testing::Values(LiteralScanner::Width::kBest,
                                           LiteralScanner::Width::kSse2,
                                           LiteralScanner::Width::kScalar),
                         [](const ::testing::TestParamInfo<LiteralScanner::Width>& param) {
                           switch (param.param) {
                             case LiteralScanner::Width::kBest:
                               return std::string("Best");
                             case LiteralScanner::Width::kSse2:
                               return std::string("Sse2");
                             case LiteralScanner::Width::kScalar:
                               return std::string("Scalar");
                           }
                           return std::string("Unknown");
                         });

}  // namespace
}  // namespace goalkeeper::node
