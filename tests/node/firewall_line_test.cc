#include "node/firewall_line.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "node/firewall_rule.h"
#include "tests/node/fixture_util.h"

namespace goalkeeper {
namespace {

absl::Time Utc(int y, int mo, int d, int h, int mi, int s) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

FirewallLineContext Ctx(absl::Time reference) {
  FirewallLineContext ctx;
  ctx.reference = reference;
  return ctx;
}

class KernLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lines_ = FixtureLines("kern.log");
    ASSERT_EQ(lines_.size(), 13u);
  }
  FirewallLineStatus Parse(size_t i, FirewallLine* out) {
    return ParseFirewallLine(lines_[i], Ctx(Utc(2026, 4, 1, 12, 0, 0)), out);
  }
  std::vector<std::string> lines_;
};

TEST_F(KernLogTest, ReadsEveryFieldOfAnIpv4LineWithUptimeAndMac) {
  FirewallLine l;
  ASSERT_EQ(Parse(0, &l), FirewallLineStatus::kOk);
  EXPECT_EQ(l.time, Utc(2026, 3, 31, 22, 0, 7));
  EXPECT_EQ(l.host, "node-1");
  EXPECT_EQ(l.prefix, "IPTables-TFTP-Rejected: ");
  EXPECT_EQ(l.in, "eth0");
  EXPECT_EQ(l.out, "");
  ASSERT_TRUE(l.mac.has_value());
  EXPECT_EQ(*l.mac, "52:54:00:12:34:56:52:54:00:65:43:21:08:00");
  EXPECT_EQ(l.src.ToString(), "192.0.2.23");
  EXPECT_EQ(l.dst.ToString(), "198.51.100.1");
  EXPECT_EQ(l.proto, "UDP");
  EXPECT_EQ(l.spt, 40000);
  EXPECT_EQ(l.dpt, 69);
  EXPECT_FALSE(l.icmp_type.has_value());
}

TEST_F(KernLogTest, ReadsALineWithoutUptime) {
  FirewallLine l;
  ASSERT_EQ(Parse(1, &l), FirewallLineStatus::kOk);
  EXPECT_EQ(l.prefix, "IPTables-TFTP-Rejected: ");
  EXPECT_EQ(l.spt, 40001);
  EXPECT_EQ(l.time, Utc(2026, 3, 31, 22, 0, 8));
}

TEST_F(KernLogTest, TellsAbsentMacFromEmptyMac) {
  FirewallLine absent, empty;
  ASSERT_EQ(Parse(2, &absent), FirewallLineStatus::kOk);
  EXPECT_FALSE(absent.mac.has_value());
  EXPECT_EQ(absent.in, "tun0");
  ASSERT_EQ(Parse(3, &empty), FirewallLineStatus::kOk);
  ASSERT_TRUE(empty.mac.has_value());
  EXPECT_EQ(*empty.mac, "");
  EXPECT_EQ(empty.src.ToString(), "192.0.2.25");
}

TEST_F(KernLogTest, ReadsIpv6WithSpacePaddedDayAndPaddedUptime) {
  FirewallLine l;
  ASSERT_EQ(Parse(4, &l), FirewallLineStatus::kOk);
  EXPECT_EQ(l.time, Utc(2026, 4, 1, 0, 0, 1));
  EXPECT_EQ(l.src.family, Family::kIPv6);
  EXPECT_EQ(l.src.ToString(), "2001:db8::23");
  EXPECT_EQ(l.dst.ToString(), "2001:db8::1");
  EXPECT_EQ(l.dpt, 69);
}

TEST_F(KernLogTest, ReadsIcmpTypeAndCodeAndAPrefixWithSpaces) {
  FirewallLine l;
  ASSERT_EQ(Parse(5, &l), FirewallLineStatus::kOk);
  EXPECT_EQ(l.prefix, "ICMP probe dropped: ");
  EXPECT_EQ(l.proto, "ICMP");
  EXPECT_EQ(l.icmp_type, 8);
  EXPECT_EQ(l.icmp_code, 0);
  EXPECT_FALSE(l.dpt.has_value());
  EXPECT_FALSE(l.spt.has_value());
}

TEST_F(KernLogTest, IgnoresTheQuotedHeaderOfAnIcmpError) {
  FirewallLine l;
  ASSERT_EQ(Parse(6, &l), FirewallLineStatus::kOk);
  EXPECT_EQ(l.out, "eth1");
  EXPECT_EQ(l.src.ToString(), "198.51.100.1");
  EXPECT_EQ(l.proto, "ICMP");
  EXPECT_EQ(l.icmp_type, 3);
  EXPECT_FALSE(l.dpt.has_value());  // DPT=69 is the quoted packet's
}

TEST_F(KernLogTest, ReadsIcmpv6) {
  FirewallLine l;
  ASSERT_EQ(Parse(7, &l), FirewallLineStatus::kOk);
  EXPECT_EQ(l.prefix, "ip6 ping: ");
  EXPECT_EQ(l.proto, "ICMPv6");
  EXPECT_EQ(l.icmp_type, 128);
  EXPECT_EQ(l.src.ToString(), "2001:db8:1:2::99");
}

TEST_F(KernLogTest, ReadsAnNftablesLogPrefixLine) {
  FirewallLine l;
  ASSERT_EQ(Parse(8, &l), FirewallLineStatus::kOk);
  EXPECT_EQ(l.prefix, "nft ssh drop: ");
  EXPECT_EQ(l.proto, "TCP");
  EXPECT_EQ(l.dpt, 22);
  EXPECT_EQ(l.spt, 51515);
}

TEST_F(KernLogTest, OrdinaryLinesAndUserSpaceTextAreNotFirewallLines) {
  FirewallLine l;
  EXPECT_EQ(Parse(9, &l), FirewallLineStatus::kNotFirewall);
  EXPECT_EQ(Parse(10, &l), FirewallLineStatus::kNotFirewall);
  EXPECT_EQ(Parse(11, &l), FirewallLineStatus::kNotFirewall);  // CRON echoing IN=...
}

TEST_F(KernLogTest, APrefixWithoutTrailingSpaceEndsAtIn) {
  FirewallLine l;
  ASSERT_EQ(Parse(12, &l), FirewallLineStatus::kOk);
  EXPECT_EQ(l.prefix, "DROP");
  EXPECT_EQ(l.in, "eth0");
}

TEST(FirewallLineTest, ReadsEveryRfc3339Form) {
  const std::vector<std::string> lines = FixtureLines("syslog.rfc3339");
  ASSERT_EQ(lines.size(), 5u);
  const FirewallLineContext ctx = Ctx(Utc(2020, 1, 1, 0, 0, 0));  // unused by RFC 3339
  FirewallLine l;
  ASSERT_EQ(ParseFirewallLine(lines[0], ctx, &l), FirewallLineStatus::kOk);
  EXPECT_EQ(l.time, Utc(2026, 3, 31, 22, 0, 7) + absl::Microseconds(123456));
  EXPECT_EQ(l.prefix, "IPTables-TFTP-Rejected: ");
  const absl::Time expected = Utc(2026, 12, 1, 1, 4, 5);
  ASSERT_EQ(ParseFirewallLine(lines[1], ctx, &l), FirewallLineStatus::kOk);
  EXPECT_EQ(l.time, expected + absl::Microseconds(123456));
  EXPECT_EQ(l.src.ToString(), "2001:db8::23");
  ASSERT_EQ(ParseFirewallLine(lines[2], ctx, &l), FirewallLineStatus::kOk);  // Z
  EXPECT_EQ(l.time, expected);
  ASSERT_EQ(ParseFirewallLine(lines[3], ctx, &l), FirewallLineStatus::kOk);  // short-iso +0200
  EXPECT_EQ(l.time, expected);
  ASSERT_EQ(ParseFirewallLine(lines[4], ctx, &l), FirewallLineStatus::kOk);  // -05:00, .5
  EXPECT_EQ(l.time, expected + absl::Milliseconds(500));
}

TEST(FirewallLineTest, RefusesMalformedRfc3339Stamps) {
  absl::string_view rest;
  EXPECT_FALSE(ParseRfc3339Time("2026-02-30T00:00:00Z x", &rest));
  EXPECT_FALSE(ParseRfc3339Time("2026-13-01T00:00:00Z x", &rest));
  EXPECT_FALSE(ParseRfc3339Time("2026-12-01T00:00:00 x", &rest));  // no zone
  EXPECT_FALSE(ParseRfc3339Time("2026-12-01T00:00:00.Z x", &rest));
  EXPECT_FALSE(ParseRfc3339Time("2026-12-01T24:00:00Z x", &rest));
  ASSERT_TRUE(ParseRfc3339Time("2026-12-01T00:00:00.123456789Z x", &rest));
  EXPECT_EQ(rest, "x");
}

TEST(FirewallLineTest, InfersTheYearAcrossNewYear) {
  absl::string_view rest;
  // Read on Jan 1st 2027 00:10: a Dec 31 line is from 2026.
  const FirewallLineContext jan = Ctx(Utc(2027, 1, 1, 0, 10, 0));
  EXPECT_EQ(ParseRfc3164Time("Dec 31 23:59:58 h", jan, &rest), Utc(2026, 12, 31, 23, 59, 58));
  EXPECT_EQ(ParseRfc3164Time("Jan  1 00:00:03 h", jan, &rest), Utc(2027, 1, 1, 0, 0, 3));
  // Read on Dec 31st with a host clock a little ahead: Jan 1 is next year.
  const FirewallLineContext dec = Ctx(Utc(2026, 12, 31, 23, 59, 0));
  EXPECT_EQ(ParseRfc3164Time("Jan  1 00:00:30 h", dec, &rest), Utc(2027, 1, 1, 0, 0, 30));
  // A line within a month ahead stays in this year; beyond it, last year.
  const FirewallLineContext jun = Ctx(Utc(2026, 6, 15, 0, 0, 0));
  EXPECT_EQ(ParseRfc3164Time("Jul  1 00:00:00 h", jun, &rest), Utc(2026, 7, 1, 0, 0, 0));
  EXPECT_EQ(ParseRfc3164Time("Aug  1 00:00:00 h", jun, &rest), Utc(2025, 8, 1, 0, 0, 0));
  // Feb 29 goes back to the last leap year.
  EXPECT_EQ(ParseRfc3164Time("Feb 29 12:00:00 h", jun, &rest), Utc(2024, 2, 29, 12, 0, 0));
  EXPECT_EQ(rest, "h");
}

TEST(FirewallLineTest, Rfc3164AcceptsPaddedAndUnpaddedDaysOnly) {
  absl::string_view rest;
  const FirewallLineContext ctx = Ctx(Utc(2026, 6, 15, 0, 0, 0));
  EXPECT_EQ(ParseRfc3164Time("Mar  1 22:00:07 h", ctx, &rest), Utc(2026, 3, 1, 22, 0, 7));
  EXPECT_EQ(ParseRfc3164Time("Mar 01 22:00:07 h", ctx, &rest), Utc(2026, 3, 1, 22, 0, 7));
  EXPECT_EQ(ParseRfc3164Time("Mar 1 22:00:07 h", ctx, &rest), Utc(2026, 3, 1, 22, 0, 7));
  EXPECT_FALSE(ParseRfc3164Time("Mar 32 22:00:07 h", ctx, &rest));
  EXPECT_FALSE(ParseRfc3164Time("Mrz  1 22:00:07 h", ctx, &rest));
  EXPECT_FALSE(ParseRfc3164Time("Mar  1 25:00:07 h", ctx, &rest));
  EXPECT_FALSE(ParseRfc3164Time("Apr 31 10:00:00 h", ctx, &rest));
}

TEST(FirewallLineTest, Rfc3164StampsAreReadInTheConfiguredZone) {
  absl::StatusOr<absl::TimeZone> zone = LoadTimeZoneFile("/usr/share/zoneinfo/Europe/Bucharest");
  ASSERT_TRUE(zone.ok()) << zone.status();
  FirewallLineContext ctx;
  ctx.zone = *zone;
  ctx.reference = Utc(2026, 12, 1, 12, 0, 0);
  absl::string_view rest;
  // EET is UTC+2 in December, EEST UTC+3 in July.
  EXPECT_EQ(ParseRfc3164Time("Dec  1 03:04:05 h", ctx, &rest), Utc(2026, 12, 1, 1, 4, 5));
  EXPECT_EQ(ParseRfc3164Time("Jul  1 03:04:05 h", ctx, &rest), Utc(2026, 7, 1, 0, 4, 5));
}

TEST(FirewallLineTest, LoadTimeZoneFileNamesTheBadPath) {
  absl::StatusOr<absl::TimeZone> missing = LoadTimeZoneFile("/nonexistent/localtime");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("'/nonexistent/localtime'"), std::string::npos);
  // A file that is not TZif is refused too.
  EXPECT_FALSE(
      LoadTimeZoneFile(std::string(GOALKEEPER_SOURCE_DIR) + "/tests/fixtures/node/kern.log").ok());
  EXPECT_FALSE(LoadTimeZoneFile("Europe/Bucharest").ok());  // a name, not a file
}

TEST(FirewallLineTest, ReadsAJournalMessageWithItsRealtimeStamp) {
  FirewallLine l;
  const int64_t usec = 1796087045123456;  // 2026-12-01T01:04:05.123456Z
  ASSERT_EQ(ParseFirewallMessage("IPTables-TFTP-Rejected: IN=eth0 OUT= MAC=52:54:00:12:34:56:"
                                 "52:54:00:65:43:21:08:00 SRC=192.0.2.23 DST=198.51.100.1 LEN=45 "
                                 "PROTO=UDP SPT=40000 DPT=69 LEN=25",
                                 usec, &l),
            FirewallLineStatus::kOk);
  EXPECT_EQ(l.time, Utc(2026, 12, 1, 1, 4, 5) + absl::Microseconds(123456));
  EXPECT_EQ(l.host, "");
  EXPECT_EQ(l.prefix, "IPTables-TFTP-Rejected: ");
  EXPECT_EQ(l.dpt, 69);
  EXPECT_EQ(ParseFirewallMessage("usb 1-1: new high-speed USB device", usec, &l),
            FirewallLineStatus::kNotFirewall);
}

TEST(FirewallLineTest, RefusesOverlongLinesWithAReason) {
  std::string line = FixtureLines("kern.log")[0];
  line.append(kMaxFirewallLineBytes, 'x');
  FirewallLine l;
  const FirewallLineStatus s = ParseFirewallLine(line, Ctx(Utc(2026, 4, 1, 0, 0, 0)), &l);
  EXPECT_EQ(s, FirewallLineStatus::kTooLong);
  EXPECT_EQ(FirewallLineStatusText(s), "line longer than 65536 bytes");
  EXPECT_EQ(ParseFirewallMessage(line, 0, &l), FirewallLineStatus::kTooLong);
  line.resize(1 << 20, 'y');  // a 1 MiB line
  EXPECT_EQ(ParseFirewallLine(line, Ctx(Utc(2026, 4, 1, 0, 0, 0)), &l),
            FirewallLineStatus::kTooLong);
  // Exactly at the limit is still read.
  std::string at_limit = FixtureLines("kern.log")[0];
  at_limit.append(kMaxFirewallLineBytes - at_limit.size(), ' ');
  EXPECT_EQ(ParseFirewallLine(at_limit, Ctx(Utc(2026, 4, 1, 0, 0, 0)), &l),
            FirewallLineStatus::kOk);
}

TEST(FirewallLineTest, MalformedFieldsAndStampsAreToldApart) {
  const FirewallLineContext ctx = Ctx(Utc(2026, 4, 1, 0, 0, 0));
  FirewallLine l;
  EXPECT_EQ(ParseFirewallLine("Mar 31 22:00:07 n kernel: X: IN=eth0 OUT= SRC=192.0.2.300 "
                              "DST=198.51.100.1 PROTO=UDP SPT=1 DPT=69",
                              ctx, &l),
            FirewallLineStatus::kBadField);
  EXPECT_EQ(ParseFirewallLine("Mar 31 22:00:07 n kernel: X: IN=eth0 OUT= SRC=192.0.2.3 "
                              "DST=198.51.100.1 PROTO=UDP SPT=1 DPT=70000",
                              ctx, &l),
            FirewallLineStatus::kBadField);
  EXPECT_EQ(
      ParseFirewallLine("Mar 31 22:00:07 n kernel: X: IN=eth0 OUT= DST=198.51.100.1", ctx, &l),
      FirewallLineStatus::kBadField);
  EXPECT_EQ(ParseFirewallLine("garbage X: IN=eth0 OUT= SRC=192.0.2.3 DST=198.51.100.1 PROTO=UDP",
                              ctx, &l),
            FirewallLineStatus::kBadTimestamp);
  // A cut line (partial last write) lacks fields.
  EXPECT_EQ(ParseFirewallLine("Mar 31 22:00:07 n kernel: X: IN=eth0 OUT= SRC=192.0", ctx, &l),
            FirewallLineStatus::kBadField);
  // CRLF endings are tolerated.
  EXPECT_EQ(ParseFirewallLine("Mar 31 22:00:07 n kernel: X: IN=eth0 OUT= SRC=192.0.2.3 "
                              "DST=198.51.100.1 PROTO=UDP SPT=1 DPT=69\r",
                              ctx, &l),
            FirewallLineStatus::kOk);
  EXPECT_EQ(l.dpt, 69);
}

TEST(FirewallLineTest, BinaryBytesNeverCrash) {
  const FirewallLineContext ctx = Ctx(Utc(2026, 4, 1, 0, 0, 0));
  std::string line = FixtureLines("kern.log")[0];
  FirewallLine l;
  for (size_t i = 0; i < line.size(); ++i) {
    for (int c : {0x00, 0xff, 0x80, int{'='}, int{' '}, int{'['}}) {
      std::string mutated = line;
      mutated[i] = static_cast<char>(c);
      (void)ParseFirewallLine(mutated, ctx, &l);
      (void)ParseFirewallLine(absl::string_view(mutated).substr(0, i), ctx, &l);
    }
  }
  const std::string nul = std::string("Mar 31 22:00:07 n kernel: X: IN=eth0 OUT= SRC=192.0.2.3") +
                          '\0' + " DST=1.2.3.4 PROTO=UDP";
  EXPECT_NE(ParseFirewallLine(nul, ctx, &l), FirewallLineStatus::kOk);
}

TEST(FirewallRuleTest, DefaultRuleMatchesTftpRejectsOnly) {
  absl::StatusOr<FirewallRule> rule = FirewallRule::Create(DefaultFirewallRule());
  ASSERT_TRUE(rule.ok()) << rule.status();
  const std::vector<std::string> lines = FixtureLines("kern.log");
  const FirewallLineContext ctx = Ctx(Utc(2026, 4, 1, 12, 0, 0));
  std::vector<bool> matched;
  for (const std::string& text : lines) {
    FirewallLine l;
    matched.push_back(ParseFirewallLine(text, ctx, &l) == FirewallLineStatus::kOk &&
                      rule->Matches(l));
  }
  EXPECT_EQ(matched, (std::vector<bool>{true, true, true, true, true, false, false, false, false,
                                        false, false, false, false}));
}

TEST(FirewallRuleTest, RegexProtoAndPortFilters) {
  FirewallRuleSpec spec;
  spec.name = "ssh";
  spec.regex = "^nft (ssh|telnet) drop: .*DPT=(22|23) ";
  spec.proto = "tcp";
  spec.ports = {23, 22, 22};
  absl::StatusOr<FirewallRule> rule = FirewallRule::Create(spec);
  ASSERT_TRUE(rule.ok()) << rule.status();
  EXPECT_EQ(rule->spec().ports, (std::vector<uint16_t>{22, 23}));
  const std::vector<std::string> lines = FixtureLines("kern.log");
  const FirewallLineContext ctx = Ctx(Utc(2026, 4, 1, 12, 0, 0));
  FirewallLine l;
  ASSERT_EQ(ParseFirewallLine(lines[8], ctx, &l), FirewallLineStatus::kOk);
  EXPECT_TRUE(rule->Matches(l));
  ASSERT_EQ(ParseFirewallLine(lines[0], ctx, &l), FirewallLineStatus::kOk);
  EXPECT_FALSE(rule->Matches(l));
  // An ICMP line has no DPT: a port filter never matches it.
  FirewallRuleSpec icmp;
  icmp.name = "icmp";
  icmp.prefix = "ICMP probe";
  icmp.ports = {69};
  ASSERT_EQ(ParseFirewallLine(lines[6], ctx, &l), FirewallLineStatus::kOk);
  EXPECT_FALSE(FirewallRule::Create(icmp)->Matches(l));
  icmp.ports.clear();
  icmp.proto = "icmp";
  EXPECT_TRUE(FirewallRule::Create(icmp)->Matches(l));
}

TEST(FirewallRuleTest, PreFilterKeepsEveryLineTheRuleMatches) {
  absl::StatusOr<FirewallRule> rule = FirewallRule::Create(DefaultFirewallRule());
  ASSERT_TRUE(rule.ok()) << rule.status();
  EXPECT_EQ(rule->RequiredLiteral(), "IPTables-TFTP-Rejected: ");
  const FirewallLineContext ctx = Ctx(Utc(2026, 4, 1, 12, 0, 0));
  int kept = 0, matched = 0;
  for (const std::string& text : FixtureLines("kern.log")) {
    FirewallLine l;
    const bool match =
        ParseFirewallLine(text, ctx, &l) == FirewallLineStatus::kOk && rule->Matches(l);
    EXPECT_TRUE(!match || rule->MayMatchLine(text)) << text;
    kept += rule->MayMatchLine(text) ? 1 : 0;
    matched += match ? 1 : 0;
  }
  EXPECT_EQ(matched, 5);
  EXPECT_LT(kept, 13);  // the other rules' lines are dropped unparsed
  EXPECT_FALSE(rule->MayMatchLine("Mar 31 22:00:07 n kernel: IPTables-TFTP-Rejected:IN=eth0"));
  // A regex rule cannot be pre-filtered by a literal: every line may match.
  FirewallRuleSpec spec;
  spec.name = "ssh";
  spec.regex = "^nft (ssh|telnet) drop: ";
  absl::StatusOr<FirewallRule> re = FirewallRule::Create(spec);
  ASSERT_TRUE(re.ok()) << re.status();
  EXPECT_EQ(re->RequiredLiteral(), "");
  EXPECT_TRUE(re->MayMatchLine("anything at all"));
}

TEST(FirewallRuleTest, RefusesABadRegexNamingIt) {
  FirewallRuleSpec spec;
  spec.name = "bad";
  spec.regex = "(unclosed";
  absl::StatusOr<FirewallRule> rule = FirewallRule::Create(spec);
  ASSERT_FALSE(rule.ok());
  EXPECT_NE(rule.status().message().find("rule 'bad': regex '(unclosed' is not valid RE2"),
            std::string::npos)
      << rule.status();
  spec.regex.clear();
  EXPECT_FALSE(FirewallRule::Create(spec).ok());  // neither prefix nor regex
}

}  // namespace
}  // namespace goalkeeper
