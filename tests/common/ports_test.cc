#include "common/ports.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace goalkeeper {
namespace {

using ::testing::ElementsAre;
using ::testing::IsSupersetOf;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

std::vector<uint16_t> Ports(absl::string_view spec) {
  absl::StatusOr<PortSet> p = PortSet::Parse(spec);
  EXPECT_TRUE(p.ok()) << spec << ": " << p.status();
  return p.ok() ? p->ports() : std::vector<uint16_t>{};
}

std::string Error(absl::string_view spec) {
  absl::StatusOr<PortSet> p = PortSet::Parse(spec);
  if (p.ok()) return "ok";
  EXPECT_EQ(p.status().code(), kInvalid) << spec;
  return std::string(p.status().message());
}

std::string NotAPort(absl::string_view token) {
  return absl::StrCat("'", token, "' is not a port (1-65535), range or named set");
}

TEST(PortSetTest, ParsesSinglePort) {
  EXPECT_THAT(Ports("22"), ElementsAre(22));
  EXPECT_THAT(Ports("1"), ElementsAre(1));
  EXPECT_THAT(Ports("65535"), ElementsAre(65535));
}

TEST(PortSetTest, ParsesList) {
  EXPECT_THAT(Ports("22,80,443"), ElementsAre(22, 80, 443));
}

TEST(PortSetTest, ParsesRangeIncludingBothEnds) {
  absl::StatusOr<PortSet> p = PortSet::Parse("8000-8010");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->size(), 11u);
  EXPECT_EQ(p->ports().front(), 8000);
  EXPECT_EQ(p->ports().back(), 8010);
  EXPECT_THAT(Ports("7-7"), ElementsAre(7));
  EXPECT_THAT(Ports("65534-65535"), ElementsAre(65534, 65535));
  EXPECT_EQ(Ports("1-65535").size(), 65535u);
}

TEST(PortSetTest, CollapsesDuplicatesAndSorts) {
  EXPECT_THAT(Ports("443,22,80,22,80-81,81"), ElementsAre(22, 80, 81, 443));
  EXPECT_THAT(Ports("10-12,11-14,1"), ElementsAre(1, 10, 11, 12, 13, 14));
}

TEST(PortSetTest, IgnoresWhitespaceAroundTokens) {
  EXPECT_THAT(Ports(" 22 ,\t80 , 8000-8001 "), ElementsAre(22, 80, 8000, 8001));
  EXPECT_THAT(Ports(" admin "), ElementsAre(22, 23, 2375, 2376, 3389, 5900, 6443, 10250));
}

TEST(PortSetTest, ExpandsDatabasesSet) {
  std::vector<uint16_t> ports = Ports("databases");
  EXPECT_THAT(ports,
              IsSupersetOf({3306, 5432, 6379, 27017, 9200, 11211, 1433, 1521, 5984, 9042}));
  EXPECT_TRUE(std::is_sorted(ports.begin(), ports.end()));
  EXPECT_THAT(NamedPortSet("databases"),
              IsSupersetOf({3306, 5432, 6379, 27017, 9200, 11211, 1433, 1521, 5984, 9042}));
}

TEST(PortSetTest, ExpandsAdminSet) {
  EXPECT_THAT(Ports("admin"), IsSupersetOf({22, 23, 2375, 2376, 3389, 5900, 6443, 10250}));
}

TEST(PortSetTest, DangerousCoversDatabasesAdminAndTheCatalogue) {
  std::vector<uint16_t> dangerous = Ports("dangerous");
  EXPECT_THAT(dangerous, IsSupersetOf(Ports("databases")));
  EXPECT_THAT(dangerous, IsSupersetOf(Ports("admin")));
  // The TCP ports of /work/shared/reference/service-catalogue.md.
  EXPECT_THAT(dangerous,
              IsSupersetOf({23, 389, 9200, 11211, 6379, 27017, 3306, 5432, 9042, 9160, 7000, 7001,
                            7199, 8888, 61620, 61621, 111, 9306, 9312, 135, 139, 445, 22, 3389,
                            5900, 2375, 2376, 6443, 10250}));
}

TEST(PortSetTest, AllIsEveryPort) {
  absl::StatusOr<PortSet> p = PortSet::Parse("all");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->size(), 65535u);
  EXPECT_EQ(p->ports().front(), 1);
  EXPECT_EQ(p->ports().back(), 65535);
  EXPECT_EQ(Ports("all,22,databases").size(), 65535u);
}

TEST(PortSetTest, CombinesNamedSetsWithPorts) {
  std::vector<uint16_t> ports = Ports("databases,8080,admin");
  EXPECT_THAT(ports, IsSupersetOf(Ports("databases")));
  EXPECT_THAT(ports, IsSupersetOf(Ports("admin")));
  EXPECT_THAT(ports, IsSupersetOf({8080}));
  EXPECT_EQ(ports.size(), Ports("databases").size() + Ports("admin").size() + 1);
}

TEST(PortSetTest, NamedPortSetIsEmptyForUnknownNames) {
  EXPECT_TRUE(NamedPortSet("nope").empty());
  EXPECT_TRUE(NamedPortSet("").empty());
  EXPECT_FALSE(NamedPortSet("admin").empty());
}

TEST(PortSetTest, RejectsPortZero) {
  EXPECT_EQ(Error("0"), NotAPort("0"));
  EXPECT_EQ(Error("0-10"), NotAPort("0-10"));
  EXPECT_EQ(Error("22,0"), NotAPort("0"));
}

TEST(PortSetTest, RejectsPortsAbove65535) {
  EXPECT_EQ(Error("65536"), NotAPort("65536"));
  EXPECT_EQ(Error("70000"), "'70000' is not a port (1-65535), range or named set");
  EXPECT_EQ(Error("10-70000"), NotAPort("10-70000"));
  EXPECT_EQ(Error("99999999999999999999"), NotAPort("99999999999999999999"));
}

TEST(PortSetTest, RejectsReversedRange) {
  EXPECT_EQ(Error("100-10"), "'100-10': range end is before its start");
}

TEST(PortSetTest, RejectsEmptyAndWhitespaceOnlySpecs) {
  EXPECT_EQ(Error(""), "empty port spec");
  EXPECT_EQ(Error("   "), "empty port spec");
  EXPECT_EQ(Error("\t\n"), "empty port spec");
}

TEST(PortSetTest, RejectsEmptyListItems) {
  EXPECT_EQ(Error(",,"), "empty port in ',,'");
  EXPECT_EQ(Error("22,"), "empty port in '22,'");
  EXPECT_EQ(Error(",22"), "empty port in ',22'");
  EXPECT_EQ(Error("22, ,80"), "empty port in '22, ,80'");
}

TEST(PortSetTest, RejectsUnknownNames) {
  EXPECT_EQ(Error("bogus"), NotAPort("bogus"));
  EXPECT_EQ(Error("22,webservers"), NotAPort("webservers"));
  EXPECT_EQ(Error("all2"), NotAPort("all2"));
  EXPECT_EQ(Error("admin-databases"), NotAPort("admin-databases"));
}

TEST(PortSetTest, RejectsNegativeAndMalformedNumbers) {
  for (const char* token : {"-1", "-80", "-5-10", "5--10", "1-2-3", "80-", "-", "+80", "0x50",
                            "8 0", "80.5", "1e3", "80a", "1-2a"}) {
    EXPECT_EQ(Error(token), NotAPort(token)) << token;
  }
}

TEST(PortSetTest, RejectsVeryLongTokenWithTruncatedMessage) {
  const std::string digits(1 << 20, '8');
  EXPECT_EQ(Error(digits), NotAPort(std::string(64, '8') + "..."));
  std::string named = Error(std::string(1 << 20, 'a'));
  EXPECT_LT(named.size(), 200u);
}

// "empty port in '...'" quotes the whole spec; a huge spec must be truncated
// like the bad-token message.
TEST(PortSetTest, TruncatesLongSpecInEmptyPortError) {
  const std::string spec = "22," + std::string(1 << 20, ' ') + ",80";
  std::string message = Error(spec);
  EXPECT_LT(message.size(), 200u);
}

}  // namespace
}  // namespace goalkeeper
