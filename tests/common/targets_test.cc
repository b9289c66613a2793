#include "common/targets.h"

#include <unistd.h>

#include <algorithm>
#include <bitset>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

// "first-last" (or "first") of a parsed spec, or the error message.
std::string SpecText(absl::string_view spec) {
  absl::StatusOr<AddressRange> r = ParseTargetSpec(spec);
  if (!r.ok()) return absl::StrCat("error: ", r.status().message());
  return absl::StrCat(r->First().ToString(), "-", r->Last().ToString());
}

std::vector<std::string> RangeStrings(const std::vector<AddressRange>& ranges) {
  std::vector<std::string> out;
  for (const AddressRange& r : ranges) out.push_back(r.ToString());
  return out;
}

TargetSet MustParse(const std::vector<std::string>& include,
                    const std::vector<std::string>& exclude = {}) {
  absl::StatusOr<TargetSet> set = TargetSet::Parse(include, exclude);
  EXPECT_TRUE(set.ok()) << set.status();
  return set.ok() ? *std::move(set) : TargetSet();
}

AddressRange Range(absl::string_view first, absl::string_view last) {
  std::optional<IpAddress> a = IpAddress::Parse(first);
  std::optional<IpAddress> b = IpAddress::Parse(last);
  EXPECT_TRUE(a && b) << first << "-" << last;
  if (!a || !b) return {};
  return AddressRange{a->family, a->value, b->value};
}

IpAddress Addr(absl::string_view text) {
  std::optional<IpAddress> a = IpAddress::Parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(IpAddress{});
}

// A file under the test temp dir, removed when the test ends.
class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = absl::StrCat(::testing::TempDir(), "goalkeeper_", info->test_suite_name(), "_",
                         info->name(), "_", getpid(), "_", counter_++, ".txt");
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out << contents;
    EXPECT_TRUE(out.good()) << path_;
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() { std::remove(path_.c_str()); }

  const std::string& path() const { return path_; }
  std::string spec() const { return "@" + path_; }

 private:
  static inline int counter_ = 0;
  std::string path_;
};

// --- ParseTargetSpec: accepted forms -------------------------------------

TEST(TargetSpecTest, ParsesSingleIPv4Address) {
  absl::StatusOr<AddressRange> r = ParseTargetSpec("10.0.0.1");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->family, Family::kIPv4);
  EXPECT_EQ(r->first, absl::uint128(0x0a000001u));
  EXPECT_EQ(r->last, r->first);
  EXPECT_EQ(r->size(), absl::uint128(1));
  EXPECT_EQ(r->ToString(), "10.0.0.1");
}

TEST(TargetSpecTest, ParsesSingleIPv6Address) {
  absl::StatusOr<AddressRange> r = ParseTargetSpec("2001:db8::1");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->family, Family::kIPv6);
  EXPECT_EQ(r->first, absl::MakeUint128(0x20010db800000000u, 1));
  EXPECT_EQ(r->size(), absl::uint128(1));
  EXPECT_EQ(r->ToString(), "2001:db8::1");
}

TEST(TargetSpecTest, ParsesIPv4Cidr) {
  absl::StatusOr<AddressRange> r = ParseTargetSpec("10.0.0.0/24");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ToString(), "10.0.0.0-10.0.0.255");
  EXPECT_EQ(r->size(), absl::uint128(256));
  EXPECT_EQ(SpecText("10.1.2.3/32"), "10.1.2.3-10.1.2.3");
  EXPECT_EQ(SpecText("10.1.2.3/31"), "10.1.2.2-10.1.2.3");
  EXPECT_EQ(SpecText("10.0.0.0/8"), "10.0.0.0-10.255.255.255");
}

TEST(TargetSpecTest, NormalisesCidrHostBitsToTheNetwork) {
  EXPECT_EQ(SpecText("10.0.0.77/24"), "10.0.0.0-10.0.0.255");
  EXPECT_EQ(SpecText("192.168.77.200/20"), "192.168.64.0-192.168.79.255");
  EXPECT_EQ(SpecText("255.255.255.255/1"), "128.0.0.0-255.255.255.255");
  EXPECT_EQ(SpecText("2001:db8::1234/120"), "2001:db8::1200-2001:db8::12ff");
  EXPECT_EQ(SpecText("2001:db8:ffff::1/32"), "2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
}

TEST(TargetSpecTest, ParsesWholeAddressSpaces) {
  absl::StatusOr<AddressRange> v4 = ParseTargetSpec("0.0.0.0/0");
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_EQ(v4->ToString(), "0.0.0.0-255.255.255.255");
  EXPECT_EQ(v4->size(), absl::uint128(1) << 32);
  // Any address with /0 is the whole space.
  EXPECT_EQ(SpecText("1.2.3.4/0"), "0.0.0.0-255.255.255.255");

  absl::StatusOr<AddressRange> v6 = ParseTargetSpec("::/0");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->first, absl::uint128(0));
  EXPECT_EQ(v6->last, absl::Uint128Max());
  // 2^128 does not fit: the size saturates.
  EXPECT_EQ(v6->size(), absl::Uint128Max());
}

TEST(TargetSpecTest, ParsesIPv6Cidr) {
  EXPECT_EQ(SpecText("::1/128"), "::1-::1");
  absl::StatusOr<AddressRange> r = ParseTargetSpec("2001:db8::/32");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->size(), absl::uint128(1) << 96);
  EXPECT_EQ(SpecText("::/1"), "::-7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

TEST(TargetSpecTest, ParsesFullIPv4Range) {
  absl::StatusOr<AddressRange> r = ParseTargetSpec("10.0.0.1-10.0.1.255");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ToString(), "10.0.0.1-10.0.1.255");
  EXPECT_EQ(r->size(), absl::uint128(511));
  EXPECT_EQ(SpecText("0.0.0.0-255.255.255.255"), "0.0.0.0-255.255.255.255");
  // A range of one address.
  EXPECT_EQ(SpecText("10.0.0.9-10.0.0.9"), "10.0.0.9-10.0.0.9");
}

TEST(TargetSpecTest, ParsesLastOctetRange) {
  absl::StatusOr<AddressRange> r = ParseTargetSpec("10.0.0.1-20");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ToString(), "10.0.0.1-10.0.0.20");
  EXPECT_EQ(r->size(), absl::uint128(20));
  EXPECT_EQ(SpecText("10.0.0.7-7"), "10.0.0.7-10.0.0.7");
  EXPECT_EQ(SpecText("10.0.0.0-255"), "10.0.0.0-10.0.0.255");
  EXPECT_EQ(SpecText("10.0.0.0-0"), "10.0.0.0-10.0.0.0");
}

TEST(TargetSpecTest, ParsesIPv6Range) {
  absl::StatusOr<AddressRange> r = ParseTargetSpec("2001:db8::1-2001:db8::1:0");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->family, Family::kIPv6);
  EXPECT_EQ(r->size(), absl::uint128(0x10000));
  EXPECT_EQ(SpecText("::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

TEST(TargetSpecTest, TrimsSurroundingWhitespace) {
  EXPECT_EQ(SpecText("  10.0.0.1\t"), "10.0.0.1-10.0.0.1");
  EXPECT_EQ(SpecText("\n10.0.0.0/30\r\n"), "10.0.0.0-10.0.0.3");
  // Whitespace is stripped before the length limit applies.
  EXPECT_EQ(SpecText(std::string(100000, ' ') + "::1" + std::string(100000, ' ')), "::1-::1");
}

// --- ParseTargetSpec: errors ---------------------------------------------

TEST(TargetSpecTest, RejectsEmptySpec) {
  absl::StatusOr<AddressRange> r = ParseTargetSpec("");
  EXPECT_EQ(r.status().code(), kInvalid);
  EXPECT_EQ(r.status().message(), "empty target spec");
}

TEST(TargetSpecTest, RejectsWhitespaceOnlySpec) {
  absl::StatusOr<AddressRange> r = ParseTargetSpec(" \t\r\n ");
  EXPECT_EQ(r.status().code(), kInvalid);
  EXPECT_EQ(r.status().message(), "empty target spec");
}

TEST(TargetSpecTest, RejectsGarbage) {
  for (const char* spec : {"hello",
                           "10.0.0",
                           "10.0.0.1.",
                           "10.0.0.1/",
                           "/24",
                           "-",
                           "10.0.0.1-",
                           "-10.0.0.1",
                           "10.0.0.1 - 10.0.0.5",
                           "10.0.0.1-10.0.0.2-10.0.0.3",
                           "10.0.0.1/24/8",
                           "10.0.0.1-10.0.0.5/24",
                           "10.0.0.1:80",
                           "[::1]",
                           "fe80::1%eth0",
                           "10.0.0.1 10.0.0.2",
                           "10.0.0.1,10.0.0.2",
                           "@file",
                           "*",
                           "10.0.0.*"}) {
    absl::StatusOr<AddressRange> r = ParseTargetSpec(spec);
    EXPECT_EQ(r.status().code(), kInvalid) << spec;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(spec)) << spec;
  }
}

TEST(TargetSpecTest, RejectsBadOctetWithExactMessage) {
  absl::StatusOr<AddressRange> r = ParseTargetSpec("10.0.0.300/24");
  EXPECT_EQ(r.status().code(), kInvalid);
  EXPECT_EQ(r.status().message(), "'10.0.0.300/24' is not an IPv4/IPv6 address, range or CIDR");
}

TEST(TargetSpecTest, RejectsLeadingZeroOctets) {
  // glibc's inet_pton refuses them (inet_aton would read them as octal).
  EXPECT_EQ(SpecText("010.0.0.1"), "error: '010.0.0.1' is not an IPv4/IPv6 address, range or CIDR");
  EXPECT_EQ(ParseTargetSpec("10.0.0.01-10.0.0.5").status().code(), kInvalid);
}

TEST(TargetSpecTest, RejectsPrefixLongerThanAddress) {
  absl::StatusOr<AddressRange> v4 = ParseTargetSpec("10.0.0.0/33");
  EXPECT_EQ(v4.status().code(), kInvalid);
  EXPECT_EQ(v4.status().message(), "'10.0.0.0/33': prefix length /33 exceeds 32 bits");

  absl::StatusOr<AddressRange> v6 = ParseTargetSpec("2001:db8::/129");
  EXPECT_EQ(v6.status().code(), kInvalid);
  EXPECT_EQ(v6.status().message(), "'2001:db8::/129': prefix length /129 exceeds 128 bits");

  // /33..128 is fine for IPv6 and /999 is too long for both.
  EXPECT_TRUE(ParseTargetSpec("::/33").ok());
  EXPECT_EQ(ParseTargetSpec("::/999").status().code(), kInvalid);
  EXPECT_EQ(ParseTargetSpec("10.0.0.0/999").status().code(), kInvalid);
}

TEST(TargetSpecTest, RejectsNegativeOrNonNumericPrefix) {
  for (const char* spec :
       {"10.0.0.0/-1", "10.0.0.0/-0", "10.0.0.0/+8", "10.0.0.0/abc", "10.0.0.0/8x", "10.0.0.0/ 8",
        "10.0.0.0/8 8", "10.0.0.0/1e1", "10.0.0.0/0x8", "10.0.0.0/0024", "::/-1", "::/64.5"}) {
    absl::StatusOr<AddressRange> r = ParseTargetSpec(spec);
    EXPECT_EQ(r.status().code(), kInvalid) << spec;
    EXPECT_EQ(r.status().message(),
              absl::StrCat("'", spec, "' is not an IPv4/IPv6 address, range or CIDR"));
  }
}

TEST(TargetSpecTest, RejectsOverflowingLastOctet) {
  for (const char* spec : {"10.0.0.1-99999999999", "10.0.0.1-256", "10.0.0.1-1000",
                           "10.0.0.1-4294967297", "10.0.0.1--1", "10.0.0.1-+5", "10.0.0.1-0x10"}) {
    absl::StatusOr<AddressRange> r = ParseTargetSpec(spec);
    EXPECT_EQ(r.status().code(), kInvalid) << spec;
    EXPECT_EQ(r.status().message(),
              absl::StrCat("'", spec, "' is not an IPv4/IPv6 address, range or CIDR"));
  }
}

TEST(TargetSpecTest, RejectsReversedRange) {
  for (const char* spec :
       {"10.0.0.5-10.0.0.1", "10.0.0.5-3", "10.0.1.0-10.0.0.255", "2001:db8::2-2001:db8::1"}) {
    absl::StatusOr<AddressRange> r = ParseTargetSpec(spec);
    EXPECT_EQ(r.status().code(), kInvalid) << spec;
    EXPECT_EQ(r.status().message(), absl::StrCat("'", spec, "': range end is before its start"));
  }
}

TEST(TargetSpecTest, RejectsRangeMixingFamilies) {
  for (const char* spec : {"127.0.0.1-::1", "::1-127.0.0.1", "0.0.0.0-::ffff:1.2.3.4"}) {
    absl::StatusOr<AddressRange> r = ParseTargetSpec(spec);
    EXPECT_EQ(r.status().code(), kInvalid) << spec;
    EXPECT_EQ(r.status().message(), absl::StrCat("'", spec, "': a range cannot mix IPv4 and IPv6"));
  }
}

TEST(TargetSpecTest, RejectsLastOctetRangeOnIPv6) {
  EXPECT_EQ(SpecText("2001:db8::1-5"),
            "error: '2001:db8::1-5' is not an IPv4/IPv6 address, range or CIDR");
}

TEST(TargetSpecTest, RejectsVeryLongInputWithTruncatedMessage) {
  const std::string digits(1 << 20, '7');
  absl::StatusOr<AddressRange> r = ParseTargetSpec(digits);
  EXPECT_EQ(r.status().code(), kInvalid);
  EXPECT_EQ(r.status().message(), absl::StrCat("'", std::string(256, '7'),
                                               "...' is not an IPv4/IPv6 address, range or CIDR"));

  // Long but with the shape of a spec.
  for (const std::string& spec : {"10.0.0.0/" + digits, "10.0.0.1-" + digits, digits + "::"}) {
    absl::StatusOr<AddressRange> s = ParseTargetSpec(spec);
    EXPECT_EQ(s.status().code(), kInvalid);
    EXPECT_LT(s.status().message().size(), 400u);
  }
}

// "10.0.0.1\0junk" must not be read as 10.0.0.1 (inet_pton stops at the NUL).
TEST(TargetSpecTest, RejectsEmbeddedNul) {
  EXPECT_EQ(ParseTargetSpec(std::string("10.0.0.1\0junk", 13)).status().code(), kInvalid);
  EXPECT_EQ(ParseTargetSpec(std::string("10.0.0.0\0/8", 11)).status().code(), kInvalid);
}

// --- ParseTargetSpecs: lists and files -------------------------------------

TEST(TargetSpecsTest, SplitsCommaSeparatedLists) {
  absl::StatusOr<std::vector<AddressRange>> r =
      ParseTargetSpecs({"10.0.0.1,10.0.0.2-5, ::1 ", "192.168.0.0/30"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(RangeStrings(*r), (std::vector<std::string>{"10.0.0.1", "10.0.0.2-10.0.0.5", "::1",
                                                        "192.168.0.0-192.168.0.3"}));
}

TEST(TargetSpecsTest, KeepsRangesUnmergedAndInInputOrder) {
  absl::StatusOr<std::vector<AddressRange>> r =
      ParseTargetSpecs({"10.0.0.2", "10.0.0.1", "10.0.0.2"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(RangeStrings(*r), (std::vector<std::string>{"10.0.0.2", "10.0.0.1", "10.0.0.2"}));
}

TEST(TargetSpecsTest, EmptyListGivesNoRanges) {
  absl::StatusOr<std::vector<AddressRange>> r = ParseTargetSpecs({});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->empty());
}

TEST(TargetSpecsTest, RejectsEmptyElementsInLists) {
  for (const char* element : {"", " ", "10.0.0.1,,10.0.0.2", "10.0.0.1,", ",10.0.0.1", ", "}) {
    absl::StatusOr<std::vector<AddressRange>> r = ParseTargetSpecs({element});
    EXPECT_EQ(r.status().code(), kInvalid) << element;
    EXPECT_EQ(r.status().message(), absl::StrCat("empty target spec in '", element, "'"));
  }
}

TEST(TargetSpecsTest, ReportsTheBadSpecInAList) {
  absl::StatusOr<std::vector<AddressRange>> r = ParseTargetSpecs({"10.0.0.1, 10.0.0.300/24"});
  EXPECT_EQ(r.status().code(), kInvalid);
  EXPECT_EQ(r.status().message(), "'10.0.0.300/24' is not an IPv4/IPv6 address, range or CIDR");
}

TEST(TargetSpecsTest, RejectsAtWithoutPath) {
  absl::StatusOr<std::vector<AddressRange>> r = ParseTargetSpecs({"@"});
  EXPECT_EQ(r.status().code(), kInvalid);
  EXPECT_EQ(r.status().message(), "'@' names no file");
}

TEST(TargetSpecsTest, ReadsFileWithCommentsBlankLinesAndSeveralSpecsPerLine) {
  TempFile file(
      "# office networks\n"
      "\n"
      "10.0.0.0/30   # core\n"
      "   \t \n"
      "10.0.1.1, 10.0.1.5-6 10.0.1.9\t::1\n"
      "#10.9.9.9\n"
      "2001:db8::/126");  // no newline at the end
  absl::StatusOr<std::vector<AddressRange>> r = ParseTargetSpecs({file.spec()});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(RangeStrings(*r),
            (std::vector<std::string>{"10.0.0.0-10.0.0.3", "10.0.1.1", "10.0.1.5-10.0.1.6",
                                      "10.0.1.9", "::1", "2001:db8::-2001:db8::3"}));
}

TEST(TargetSpecsTest, ReadsFileWithCrlfLineEnds) {
  TempFile file("10.0.0.1\r\n10.0.0.2-4\r\n# comment\r\n\r\n::1\r\n");
  absl::StatusOr<std::vector<AddressRange>> r = ParseTargetSpecs({file.spec()});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(RangeStrings(*r), (std::vector<std::string>{"10.0.0.1", "10.0.0.2-10.0.0.4", "::1"}));
}

TEST(TargetSpecsTest, MixesFilesAndInlineSpecs) {
  TempFile a("10.0.0.1\n");
  TempFile b("10.0.0.3\n");
  absl::StatusOr<std::vector<AddressRange>> r =
      ParseTargetSpecs({"10.0.0.0," + a.spec() + ", 10.0.0.2", b.spec()});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(RangeStrings(*r),
            (std::vector<std::string>{"10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3"}));
}

TEST(TargetSpecsTest, EmptyFileGivesNoRanges) {
  TempFile file("# nothing here\n\n");
  absl::StatusOr<std::vector<AddressRange>> r = ParseTargetSpecs({file.spec()});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->empty());

  absl::StatusOr<TargetSet> set = TargetSet::Parse({file.spec()}, {});
  EXPECT_EQ(set.status().code(), kInvalid);
  EXPECT_EQ(set.status().message(), "no targets given");
}

TEST(TargetSpecsTest, ReportsMissingFileByPath) {
  const std::string path = ::testing::TempDir() + "goalkeeper_no_such_dir/targets.txt";
  absl::StatusOr<std::vector<AddressRange>> r = ParseTargetSpecs({"@" + path});
  EXPECT_EQ(r.status().code(), kInvalid);
  EXPECT_EQ(r.status().message(), absl::StrCat("cannot read target file '", path, "'"));
}

TEST(TargetSpecsTest, RefusesAFileWithoutLineEndsAtTheLineCap) {
  // /dev/zero never ends and has no line end: the read stops at the line cap
  // instead of growing memory without bound.
  absl::StatusOr<std::vector<AddressRange>> r = ParseTargetSpecs({"@/dev/zero"});
  EXPECT_EQ(r.status().code(), kInvalid);
  EXPECT_EQ(r.status().message(), absl::StrCat("target file '/dev/zero': line 1 is longer than ",
                                               kMaxTargetLineBytes, " bytes"));
}

TEST(TargetSpecsTest, RefusesAFileLargerThanTheSizeCap) {
  // Short comment lines: every line is fine, the total is not.
  const std::string line = std::string(1023, '#') + "\n";
  std::string contents;
  contents.reserve(kMaxTargetFileBytes + line.size());
  while (contents.size() <= kMaxTargetFileBytes) contents += line;
  TempFile file(contents);
  contents.clear();
  contents.shrink_to_fit();
  absl::StatusOr<std::vector<AddressRange>> r = ParseTargetSpecs({file.spec()});
  EXPECT_EQ(r.status().code(), kInvalid);
  EXPECT_EQ(r.status().message(),
            absl::StrCat("target file '", file.path(), "' is larger than 64 MiB"));
}

TEST(TargetSpecsTest, ReadsAFileJustUnderTheSizeCapAndALastLineWithoutLineEnd) {
  const std::string line = std::string(1023, '#') + "\n";
  std::string contents;
  while (contents.size() + 2 * line.size() < kMaxTargetFileBytes) contents += line;
  contents += "10.0.0.1\n10.0.0.7";  // no final line end
  TempFile file(contents);
  absl::StatusOr<std::vector<AddressRange>> r = ParseTargetSpecs({file.spec()});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].ToString(), "10.0.0.7");
}

TEST(TargetSpecsTest, ReportsBadLineWithPathAndLineNumber) {
  TempFile file("10.0.0.1\n# fine\n10.0.0.2 10.0.0.300/24\n10.0.0.4\n");
  absl::StatusOr<std::vector<AddressRange>> r = ParseTargetSpecs({file.spec()});
  EXPECT_EQ(r.status().code(), kInvalid);
  EXPECT_EQ(
      r.status().message(),
      absl::StrCat(file.path(), ":3: '10.0.0.300/24' is not an IPv4/IPv6 address, range or CIDR"));
}

TEST(TargetSpecsTest, CountsCrlfLinesForErrorLineNumbers) {
  TempFile file("10.0.0.1\r\n\r\n10.0.0.5-1\r\n");
  absl::StatusOr<std::vector<AddressRange>> r = ParseTargetSpecs({file.spec()});
  EXPECT_EQ(r.status().code(), kInvalid);
  EXPECT_EQ(r.status().message(),
            absl::StrCat(file.path(), ":3: '10.0.0.5-1': range end is before its start"));
}

TEST(TargetSpecsTest, RejectsNestedFileReference) {
  TempFile inner("10.0.0.1\n");
  TempFile outer("10.0.0.2\n" + inner.spec() + "\n");
  absl::StatusOr<std::vector<AddressRange>> r = ParseTargetSpecs({outer.spec()});
  EXPECT_EQ(r.status().code(), kInvalid);
  EXPECT_EQ(r.status().message(), absl::StrCat(outer.path(), ":2: '", inner.spec(),
                                               "': target files cannot include files"));
}

TEST(TargetSpecsTest, ParsesHugeFile) {
  // 200,000 addresses two apart, so none merge: 10.0.0.0, 10.0.0.2, ...
  constexpr uint32_t kLines = 200000;
  constexpr uint32_t kBase = 0x0a000000u;
  std::string contents;
  contents.reserve(kLines * 16);
  for (uint32_t i = 0; i < kLines; ++i) {
    absl::StrAppend(&contents, IpAddress::V4(kBase + 2 * i).ToString(),
                    i % 1000 == 0 ? "  # checkpoint\n" : "\n");
  }
  TempFile file(contents);

  absl::StatusOr<TargetSet> set = TargetSet::Parse({file.spec()}, {});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->size(), absl::uint128(kLines));
  EXPECT_EQ(set->ranges().size(), kLines);
  EXPECT_EQ(set->At(0).ToString(), "10.0.0.0");
  EXPECT_EQ(set->At(1).ToString(), "10.0.0.2");
  EXPECT_EQ(set->At(kLines - 1).ToString(), IpAddress::V4(kBase + 2 * (kLines - 1)).ToString());
  EXPECT_TRUE(set->Contains(IpAddress::V4(kBase + 2 * 123456)));
  EXPECT_FALSE(set->Contains(IpAddress::V4(kBase + 2 * 123456 + 1)));
}

TEST(TargetSpecsTest, RejectsVeryLongLineInFileWithTruncatedMessage) {
  TempFile file("10.0.0.1\n" + std::string(kMaxTargetLineBytes - 1, '1') + "\n");
  absl::StatusOr<std::vector<AddressRange>> r = ParseTargetSpecs({file.spec()});
  EXPECT_EQ(r.status().code(), kInvalid);
  EXPECT_THAT(std::string(r.status().message()), StartsWith(file.path() + ":2: '111"));
  EXPECT_LT(r.status().message().size(), file.path().size() + 400);
}

TEST(TargetSpecsTest, RejectsALineLongerThanTheLineCapNamingFileLineAndLimit) {
  TempFile file("10.0.0.1\n" + std::string(1 << 20, '1') + "\n");
  absl::StatusOr<std::vector<AddressRange>> r = ParseTargetSpecs({file.spec()});
  EXPECT_EQ(r.status().code(), kInvalid);
  EXPECT_EQ(r.status().message(),
            absl::StrCat("target file '", file.path(), "': line 2 is longer than 65536 bytes"));
}

TEST(TargetSpecsTest, RejectsVeryLongElementWithTruncatedMessage) {
  const std::string digits(1 << 20, '9');
  absl::StatusOr<std::vector<AddressRange>> r = ParseTargetSpecs({digits});
  EXPECT_EQ(r.status().code(), kInvalid);
  EXPECT_LT(r.status().message().size(), 400u);

  absl::StatusOr<TargetSet> set = TargetSet::Parse({"10.0.0.1"}, {digits});
  EXPECT_EQ(set.status().code(), kInvalid);
  EXPECT_LT(set.status().message().size(), 400u);
}

// The "empty target spec in '...'" error quotes the whole element; a huge
// element must be truncated like every other quoted spec.
TEST(TargetSpecsTest, TruncatesLongElementInEmptySpecError) {
  const std::string element = "," + std::string(1 << 20, '9');
  absl::StatusOr<std::vector<AddressRange>> r = ParseTargetSpecs({element});
  EXPECT_EQ(r.status().code(), kInvalid);
  EXPECT_LT(r.status().message().size(), 400u);
}

// A file line "10.0.0.1<NUL>junk" must be rejected, not read as 10.0.0.1.
TEST(TargetSpecsTest, RejectsFileLineWithEmbeddedNul) {
  TempFile file(std::string("10.0.0.1\0junk\n", 14));
  absl::StatusOr<std::vector<AddressRange>> r = ParseTargetSpecs({file.spec()});
  EXPECT_EQ(r.status().code(), kInvalid);
}

// --- TargetSet -----------------------------------------------------------

TEST(TargetSetTest, MergesOverlappingAndAdjacentIncludes) {
  TargetSet set = MustParse(
      {"10.0.0.5-10.0.0.20", "10.0.0.0-10.0.0.10", "10.0.0.21", "10.0.0.23", "10.0.0.23"});
  EXPECT_EQ(RangeStrings(set.ranges()),
            (std::vector<std::string>{"10.0.0.0-10.0.0.21", "10.0.0.23"}));
  EXPECT_EQ(set.size(), absl::uint128(23));
}

TEST(TargetSetTest, MergesContainedAndAdjacentCidrs) {
  TargetSet set = MustParse({"10.0.0.0/25", "10.0.0.128/25", "10.0.0.7", "10.0.1.0/24"});
  EXPECT_EQ(RangeStrings(set.ranges()), (std::vector<std::string>{"10.0.0.0-10.0.1.255"}));
  EXPECT_EQ(set.size(), absl::uint128(512));
}

TEST(TargetSetTest, DoesNotMergeAcrossFamilies) {
  // 255.255.255.255 and :: are numerically adjacent but not the same family.
  TargetSet set = MustParse({"::", "255.255.255.255"});
  EXPECT_EQ(RangeStrings(set.ranges()), (std::vector<std::string>{"255.255.255.255", "::"}));
  EXPECT_EQ(set.size(), absl::uint128(2));
}

TEST(TargetSetTest, MergesAdjacentRangesAtTheTopOfIPv6) {
  TargetSet set = MustParse({"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124",
                             "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffe0/124",
                             "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"});
  ASSERT_EQ(set.ranges().size(), 1u);
  EXPECT_EQ(set.size(), absl::uint128(32));
}

TEST(TargetSetTest, SubtractsExclusionInTheMiddle) {
  TargetSet set = MustParse({"10.0.0.0/24"}, {"10.0.0.10-10.0.0.19"});
  EXPECT_EQ(RangeStrings(set.ranges()),
            (std::vector<std::string>{"10.0.0.0-10.0.0.9", "10.0.0.20-10.0.0.255"}));
  EXPECT_EQ(set.size(), absl::uint128(246));
  EXPECT_EQ(set.At(9).ToString(), "10.0.0.9");
  EXPECT_EQ(set.At(10).ToString(), "10.0.0.20");
}

TEST(TargetSetTest, SubtractsPartiallyOverlappingExclusions) {
  TargetSet set = MustParse({"10.0.0.10-10.0.0.20"}, {"10.0.0.0-10.0.0.12", "10.0.0.18-10.0.0.30"});
  EXPECT_EQ(RangeStrings(set.ranges()), (std::vector<std::string>{"10.0.0.13-10.0.0.17"}));
  EXPECT_EQ(set.size(), absl::uint128(5));
}

TEST(TargetSetTest, SubtractsExclusionSpanningSeveralIncludes) {
  TargetSet set = MustParse({"10.0.0.0-10.0.0.9", "10.0.0.20-10.0.0.29", "10.0.0.40-10.0.0.49"},
                            {"10.0.0.5-10.0.0.44", "10.0.0.47"});
  EXPECT_EQ(RangeStrings(set.ranges()),
            (std::vector<std::string>{"10.0.0.0-10.0.0.4", "10.0.0.45-10.0.0.46",
                                      "10.0.0.48-10.0.0.49"}));
  EXPECT_EQ(set.size(), absl::uint128(9));
}

TEST(TargetSetTest, IgnoresExclusionsOfTheOtherFamilyOrOutsideIncludes) {
  TargetSet set = MustParse({"10.0.0.0/30", "::1"},
                            {"::ffff:10.0.0.0/126", "192.168.0.0/16", "::2-::ff", "1.1.1.1"});
  EXPECT_EQ(RangeStrings(set.ranges()), (std::vector<std::string>{"10.0.0.0-10.0.0.3", "::1"}));
  EXPECT_EQ(set.size(), absl::uint128(5));
}

TEST(TargetSetTest, FailsWhenExclusionsRemoveEverything) {
  for (const std::vector<std::string>& exclude :
       std::vector<std::vector<std::string>>{{"10.0.0.0/24"},
                                             {"10.0.0.0/8"},
                                             {"10.0.0.0-10.0.0.127", "10.0.0.128/25"},
                                             {"0.0.0.0/0"}}) {
    absl::StatusOr<TargetSet> set = TargetSet::Parse({"10.0.0.0/24"}, exclude);
    EXPECT_EQ(set.status().code(), kInvalid);
    EXPECT_EQ(set.status().message(), "the exclusions remove every target address");
  }
}

TEST(TargetSetTest, FailsWithoutIncludes) {
  absl::StatusOr<TargetSet> set = TargetSet::Parse({}, {"10.0.0.1"});
  EXPECT_EQ(set.status().code(), kInvalid);
  EXPECT_EQ(set.status().message(), "no targets given");
}

TEST(TargetSetTest, ReportsBadExclusion) {
  absl::StatusOr<TargetSet> set = TargetSet::Parse({"10.0.0.0/24"}, {"10.0.0.300/24"});
  EXPECT_EQ(set.status().code(), kInvalid);
  EXPECT_EQ(set.status().message(), "'10.0.0.300/24' is not an IPv4/IPv6 address, range or CIDR");
}

TEST(TargetSetTest, ReportsBadInclude) {
  absl::StatusOr<TargetSet> set = TargetSet::Parse({"10.0.0.1", "bogus"}, {});
  EXPECT_EQ(set.status().code(), kInvalid);
  EXPECT_EQ(set.status().message(), "'bogus' is not an IPv4/IPv6 address, range or CIDR");
}

TEST(TargetSetTest, CountsWholeIPv4Space) {
  TargetSet set = MustParse({"0.0.0.0/0"});
  EXPECT_EQ(set.size(), absl::uint128(1) << 32);
  EXPECT_EQ(set.At(0).ToString(), "0.0.0.0");
  EXPECT_EQ(set.At((absl::uint128(1) << 32) - 1).ToString(), "255.255.255.255");
}

TEST(TargetSetTest, CountsLargeIPv6Ranges) {
  EXPECT_EQ(MustParse({"2001:db8::/32"}).size(), absl::uint128(1) << 96);
  EXPECT_EQ(MustParse({"::/1"}).size(), absl::uint128(1) << 127);
  EXPECT_EQ(MustParse({"2001:db8::/32", "10.0.0.0/8"}).size(),
            (absl::uint128(1) << 96) + (absl::uint128(1) << 24));
  EXPECT_EQ(MustParse({"::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"}).size(), absl::Uint128Max());
  TargetSet big = MustParse({"2001:db8::/32"}, {"2001:db8::/33"});
  EXPECT_EQ(big.size(), absl::uint128(1) << 95);
  EXPECT_EQ(big.At(0).ToString(), "2001:db8:8000::");
}

TEST(TargetSetTest, SaturatesSizeForWholeIPv6Space) {
  EXPECT_EQ(MustParse({"::/0"}).size(), absl::Uint128Max());
  // Two halves merge into ::/0.
  TargetSet halves = MustParse({"8000::/1", "::/1"});
  EXPECT_EQ(halves.ranges().size(), 1u);
  EXPECT_EQ(halves.size(), absl::Uint128Max());
  // Adding IPv4 cannot overflow the count.
  TargetSet both = MustParse({"::/0", "0.0.0.0/0"});
  EXPECT_EQ(both.size(), absl::Uint128Max());
  EXPECT_EQ(both.At(0).ToString(), "0.0.0.0");
  EXPECT_EQ(both.At(absl::uint128(1) << 32).ToString(), "::");
}

TEST(TargetSetTest, AtWalksRangesInOrderWithIPv4BeforeIPv6) {
  TargetSet set = MustParse({"2001:db8::/126", "10.0.0.8-10", "10.0.0.1-2", "::1"});
  const std::vector<std::string> expected = {
      "10.0.0.1", "10.0.0.2",   "10.0.0.8",    "10.0.0.9",    "10.0.0.10",
      "::1",      "2001:db8::", "2001:db8::1", "2001:db8::2", "2001:db8::3"};
  ASSERT_EQ(set.size(), absl::uint128(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(set.At(i).ToString(), expected[i]) << i;
  }
  EXPECT_EQ(set.At(4).family, Family::kIPv4);
  EXPECT_EQ(set.At(5).family, Family::kIPv6);
}

TEST(TargetSetTest, ContainsOnlyAddressesInItsRanges) {
  TargetSet set = MustParse({"10.0.0.0/24", "10.0.2.5", "2001:db8::/120"});
  EXPECT_TRUE(set.Contains(Addr("10.0.0.1")));
  EXPECT_TRUE(set.Contains(Addr("10.0.0.200")));
  EXPECT_TRUE(set.Contains(Addr("10.0.0.255")));
  EXPECT_TRUE(set.Contains(Addr("10.0.2.5")));
  EXPECT_TRUE(set.Contains(Addr("2001:db8::ff")));

  EXPECT_FALSE(set.Contains(Addr("9.255.255.255")));
  EXPECT_FALSE(set.Contains(Addr("10.0.1.0")));
  EXPECT_FALSE(set.Contains(Addr("10.0.2.4")));
  EXPECT_FALSE(set.Contains(Addr("10.0.2.6")));
  EXPECT_FALSE(set.Contains(Addr("255.255.255.255")));
  EXPECT_FALSE(set.Contains(Addr("::")));
  EXPECT_FALSE(set.Contains(Addr("2001:db8::100")));
  // Same number, other family.
  EXPECT_FALSE(set.Contains(Addr("::10.0.0.1")));
  EXPECT_FALSE(set.Contains(IpAddress::V4(0x1)));
  EXPECT_FALSE(TargetSet().Contains(Addr("10.0.0.1")));
}

// The first address of a range of more than one address is in the set.
TEST(TargetSetTest, ContainsFirstAddressOfEachRange) {
  TargetSet set = MustParse({"10.0.0.0/24", "10.0.5.7-10.0.5.9", "2001:db8::/120"});
  EXPECT_TRUE(set.Contains(Addr("10.0.0.0")));
  EXPECT_TRUE(set.Contains(Addr("10.0.5.7")));
  EXPECT_TRUE(set.Contains(Addr("2001:db8::")));
  EXPECT_TRUE(set.Contains(set.At(0)));
}

TEST(TargetSetTest, IsSubsetOfContainingSet) {
  TargetSet outer = MustParse({"10.0.0.0/16", "2001:db8::/64"});
  AddressRange outside{Family::kIPv4, 7, 7};
  EXPECT_TRUE(MustParse({"10.0.0.0/24", "10.0.255.255"}).IsSubsetOf(outer, &outside));
  EXPECT_EQ(outside, (AddressRange{Family::kIPv4, 7, 7}));  // untouched
  EXPECT_TRUE(MustParse({"2001:db8::5-2001:db8::ff", "10.0.0.0/16"}).IsSubsetOf(outer, nullptr));
  EXPECT_TRUE(outer.IsSubsetOf(outer, nullptr));
  EXPECT_TRUE(TargetSet().IsSubsetOf(outer, nullptr));
}

TEST(TargetSetTest, IsSubsetOfReportsTheOutsidePart) {
  AddressRange outside;
  // Wholly outside.
  EXPECT_FALSE(
      MustParse({"10.0.0.0/24", "10.0.2.0/24"}).IsSubsetOf(MustParse({"10.0.0.0/23"}), &outside));
  EXPECT_EQ(outside.ToString(), "10.0.2.0-10.0.2.255");
  // Sticking out at the end.
  EXPECT_FALSE(
      MustParse({"10.0.0.200-10.0.1.10"}).IsSubsetOf(MustParse({"10.0.0.0/24"}), &outside));
  EXPECT_EQ(outside.ToString(), "10.0.1.0-10.0.1.10");
  // Sticking out at the start.
  EXPECT_FALSE(
      MustParse({"9.255.255.250-10.0.0.3"}).IsSubsetOf(MustParse({"10.0.0.0/24"}), &outside));
  EXPECT_EQ(outside.ToString(), "9.255.255.250-9.255.255.255");
  // A hole in the outer set.
  EXPECT_FALSE(MustParse({"10.0.0.0/24"})
                   .IsSubsetOf(MustParse({"10.0.0.0/24"}, {"10.0.0.100-10.0.0.109"}), &outside));
  EXPECT_EQ(outside.ToString(), "10.0.0.100-10.0.0.109");
  // Other family.
  EXPECT_FALSE(MustParse({"10.0.0.1", "::1"}).IsSubsetOf(MustParse({"0.0.0.0/0"}), &outside));
  EXPECT_EQ(outside.ToString(), "::1");
  EXPECT_FALSE(MustParse({"::1"}).IsSubsetOf(TargetSet(), nullptr));
}

TEST(TargetSetTest, FromRangesNeverFailsAndMayBeEmpty) {
  TargetSet none = TargetSet::FromRanges({}, {});
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.size(), absl::uint128(0));

  TargetSet all_gone =
      TargetSet::FromRanges({Range("10.0.0.0", "10.0.0.9")}, {Range("0.0.0.0", "10.0.0.9")});
  EXPECT_TRUE(all_gone.empty());
  EXPECT_EQ(all_gone.size(), absl::uint128(0));
}

TEST(AddressRangeTest, FormatsSingleAddressAndRange) {
  EXPECT_EQ(Range("10.0.0.1", "10.0.0.1").ToString(), "10.0.0.1");
  EXPECT_EQ(Range("10.0.0.1", "10.0.0.9").ToString(), "10.0.0.1-10.0.0.9");
  EXPECT_EQ(Range("::1", "::2").ToString(), "::1-::2");
  EXPECT_EQ(Range("::", "::").size(), absl::uint128(1));
}

// --- TargetSet against a bitmap model ------------------------------------

constexpr uint32_t kModelBase = 0x0a000000u;  // 10.0.0.0
constexpr size_t kModelSize = 512;            // 10.0.0.0 - 10.0.1.255

AddressRange RandomRange(std::mt19937& rng) {
  std::uniform_int_distribution<uint32_t> start(0, kModelSize - 1);
  std::uniform_int_distribution<uint32_t> len(1, 40);
  uint32_t a = start(rng);
  uint32_t b = std::min<uint32_t>(a + len(rng) - 1, kModelSize - 1);
  return AddressRange{Family::kIPv4, kModelBase + a, kModelBase + b};
}

struct ModelCase {
  TargetSet set;
  std::bitset<kModelSize> model;
};

ModelCase RandomCase(std::mt19937& rng) {
  std::uniform_int_distribution<int> count(0, 8);
  std::vector<AddressRange> include;
  std::vector<AddressRange> exclude;
  std::bitset<kModelSize> in;
  std::bitset<kModelSize> out;
  for (int n = count(rng) + 1; n > 0; --n) include.push_back(RandomRange(rng));
  for (int n = count(rng); n > 0; --n) exclude.push_back(RandomRange(rng));
  for (const AddressRange& r : include) {
    for (absl::uint128 v = r.first; v <= r.last; ++v) in.set(static_cast<size_t>(v - kModelBase));
  }
  for (const AddressRange& r : exclude) {
    for (absl::uint128 v = r.first; v <= r.last; ++v) out.set(static_cast<size_t>(v - kModelBase));
  }
  return {TargetSet::FromRanges(include, exclude), in & ~out};
}

TEST(TargetSetTest, MatchesBitmapModelForSizeAtAndRanges) {
  std::mt19937 rng(2024);
  for (int trial = 0; trial < 2000; ++trial) {
    ModelCase c = RandomCase(rng);
    ASSERT_EQ(c.set.size(), absl::uint128(c.model.count())) << trial;
    ASSERT_EQ(c.set.empty(), c.model.none()) << trial;
    // Ranges are sorted, disjoint and not adjacent.
    for (size_t i = 0; i < c.set.ranges().size(); ++i) {
      const AddressRange& r = c.set.ranges()[i];
      ASSERT_LE(r.first, r.last);
      if (i > 0) {
        ASSERT_GT(r.first, c.set.ranges()[i - 1].last + 1) << trial;
      }
    }
    // At() enumerates the model's addresses in increasing order.
    absl::uint128 index = 0;
    for (size_t v = 0; v < kModelSize; ++v) {
      if (!c.model.test(v)) continue;
      ASSERT_EQ(c.set.At(index).value, absl::uint128(kModelBase + v)) << trial;
      ++index;
    }
  }
}

TEST(TargetSetTest, ContainsMatchesBitmapModel) {
  std::mt19937 rng(77);
  int mismatches = 0;
  std::string first_mismatch;
  for (int trial = 0; trial < 500; ++trial) {
    ModelCase c = RandomCase(rng);
    for (uint32_t v = 0; v < kModelSize; ++v) {
      IpAddress a = IpAddress::V4(kModelBase + v);
      if (c.set.Contains(a) != c.model.test(v)) {
        if (mismatches++ == 0) {
          first_mismatch =
              absl::StrCat("trial ", trial, ": ", a.ToString(), " model=", c.model.test(v));
        }
      }
    }
  }
  EXPECT_EQ(mismatches, 0) << "first: " << first_mismatch;
}

}  // namespace
}  // namespace goalkeeper
