#include "common/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

TEST(Utf8SequenceLengthTest, StepsOverWholeCharacters) {
  const std::string s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x92";  // a, é, €, 🔒
  EXPECT_EQ(Utf8SequenceLength(s, 0), 1u);
  EXPECT_EQ(Utf8SequenceLength(s, 1), 2u);
  EXPECT_EQ(Utf8SequenceLength(s, 3), 3u);
  EXPECT_EQ(Utf8SequenceLength(s, 6), 4u);
}

TEST(Utf8SequenceLengthTest, InvalidOrTruncatedBytesCountAsOne) {
  EXPECT_EQ(Utf8SequenceLength("\x80", 0), 1u);          // a continuation byte
  EXPECT_EQ(Utf8SequenceLength("\xc0\xaf", 0), 1u);      // overlong lead byte
  EXPECT_EQ(Utf8SequenceLength("\xe2\x82", 0), 1u);      // cut short by the end
  EXPECT_EQ(Utf8SequenceLength("\xe2\x41\x41", 0), 1u);  // not followed by continuations
  EXPECT_EQ(Utf8SequenceLength("\xff", 0), 1u);
}

}  // namespace
}  // namespace goalkeeper
