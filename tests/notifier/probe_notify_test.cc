// Issue 12 in the notifier: what each exposure's email line says from the
// probe's evidence, grouping by the service that answered with the
// catalogue's advice (UDP entries too), report_check of the new fields,
// the v5 store migration (keys by transport) and degraded reports.
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/services.h"
#include "common/sqlite.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "notifier/exposure_text.h"
#include "notifier/notification_store.h"
#include "notifier/report_check.h"
#include "notifier/report_processor.h"
#include "probes/evidence.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

probes::Evidence Ev(const char* service, const char* version, probes::Auth auth) {
  probes::Evidence ev;
  ev.service = service;
  ev.verified = true;
  ev.version = version;
  ev.auth = auth;
  return ev;
}

TEST(SeenTextTest, EachCaseSaysWhatWasSeenInPlainWords) {
  using probes::Auth;
  using probes::Transport;
  EXPECT_EQ(SeenText(6379, Transport::kTcp, Ev("Redis", "7.0.15", Auth::kNotRequired)),
            "Redis 7.0.15 answered without a password");
  EXPECT_EQ(SeenText(9200, Transport::kTcp, Ev("Elasticsearch", "8.x", Auth::kNotRequired)),
            "Elasticsearch 8.x answered with security off");
  EXPECT_EQ(SeenText(27017, Transport::kTcp, Ev("MongoDB", "6.0", Auth::kNotRequired)),
            "MongoDB 6.0 listed its databases without authentication");
  probes::Evidence snmp = Ev("SNMP", "", Auth::kNotRequired);
  snmp.banner = "Linux lab 6.1.0";
  EXPECT_EQ(SeenText(161, Transport::kUdp, snmp),
            "SNMP answered to community public: Linux lab 6.1.0");
  probes::Evidence dns = Ev("DNS", "", Auth::kUnknown);
  dns.facts = {"recursion=available", "answer_bytes=1100"};
  dns.amplification = 31.4;
  EXPECT_EQ(SeenText(53, Transport::kUdp, dns),
            "DNS open resolver answered a recursive query (31x amplification)");
  // NTP: each of the port's three probes (monlist, mode 6, a time request).
  probes::Evidence monlist = Ev("NTP", "", Auth::kUnknown);
  monlist.facts = {"monlist=yes", "monlist_entries=600"};
  monlist.amplification = 556.9;
  EXPECT_EQ(SeenText(123, Transport::kUdp, monlist),
            "NTP answered a monlist query (557x amplification)");
  probes::Evidence readvar = Ev("NTP", "1.2.2", Auth::kUnknown);
  readvar.facts = {"readvar=answered", "product=ntpsec"};
  readvar.amplification = 30;
  EXPECT_EQ(SeenText(123, Transport::kUdp, readvar),
            "NTP 1.2.2 answered a status query (mode 6) (30x amplification)");
  probes::Evidence time_only = Ev("NTP", "", Auth::kUnknown);
  time_only.facts = {"stratum=2", "status=refused", "monlist=no"};
  time_only.amplification = 1;
  EXPECT_EQ(SeenText(123, Transport::kUdp, time_only),
            "NTP answered a time request; it refuses status queries (monlist, mode 6), so it "
            "is not an amplifier");
  EXPECT_EQ(SeenText(6379, Transport::kTcp, Ev("Redis", "7.0.15", Auth::kRequired)),
            "Redis 7.0.15 answered and requires authentication");
  probes::Evidence maria = Ev("MariaDB", "10.11.6-MariaDB", Auth::kUnknown);
  maria.tls_offered = true;
  EXPECT_EQ(SeenText(3306, Transport::kTcp, maria),
            "MariaDB 10.11.6-MariaDB answered (TLS offered)");
  probes::Evidence unverified;
  unverified.service = "MongoDB";
  EXPECT_EQ(SeenText(27017, Transport::kTcp, unverified),
            "port 27017/tcp is open; we could not confirm which service answers");
  EXPECT_EQ(SeenText(1900, Transport::kUdp, probes::Evidence{}),
            "port 1900/udp is open; we could not confirm which service answers");
}

TEST(SeenTextTest, HostileEvidenceStaysOnePrintableBoundedLine) {
  probes::Evidence ev = Ev("Redis", "7.0\r\nBcc: victim@example.com", probes::Auth::kNotRequired);
  ev.version += std::string(2000, 'x');
  const std::string text = SeenText(6379, probes::Transport::kTcp, ev);
  EXPECT_LE(text.size(), kMaxSeenText);
  for (char c : text) EXPECT_TRUE(c >= 0x20 && c <= 0x7e) << static_cast<int>(c);
}

TEST(ServicesTest, UdpEntriesNamesAndTheOldTcpForm) {
  ASSERT_NE(LookupService(53, IpProtocol::kUdp), nullptr);
  EXPECT_STREQ(LookupService(53, IpProtocol::kUdp)->name, "DNS open resolver");
  EXPECT_THAT(LookupService(53, IpProtocol::kUdp)->advice, HasSubstr("disable recursion"));
  EXPECT_EQ(LookupService(53), nullptr) << "the one-argument form is TCP";
  EXPECT_EQ(LookupService(6379), LookupService(6379, IpProtocol::kTcp));
  for (int port : {53, 111, 123, 137, 161, 389, 1434, 1900, 5353, 10001, 11211}) {
    EXPECT_NE(LookupService(static_cast<uint16_t>(port), IpProtocol::kUdp), nullptr) << port;
  }
  EXPECT_EQ(ServiceName(161, IpProtocol::kUdp), "SNMP");
  EXPECT_EQ(ServiceName(4000, IpProtocol::kUdp), "udp/4000");
  EXPECT_EQ(ServiceName(4000), "tcp/4000");
  EXPECT_EQ(LookupServiceByName("Redis"), LookupService(6379));
  EXPECT_EQ(LookupServiceByName("MariaDB"), LookupService(3306));
  EXPECT_EQ(LookupServiceByName("kubelet"), LookupService(10250));
  EXPECT_EQ(LookupServiceByName("DNS"), LookupService(53, IpProtocol::kUdp));
  EXPECT_EQ(LookupServiceByName("Gopher"), nullptr);
  EXPECT_EQ(LookupServiceByName(""), nullptr);
}

v1::ScanReport GoodReport() {
  v1::ScanReport r;
  r.set_scan_id("20261201-182233-0a9f3c");
  r.set_finished_unix_ms(1'800'000'000'000);
  v1::Exposure* redis = r.add_exposures();
  redis->set_ip("127.0.0.5");
  redis->set_port(16379);  // Redis on an unusual port
  redis->set_service("Redis");
  redis->set_verified(true);
  redis->set_status(v1::NEW);
  redis->mutable_evidence()->set_version("7.0.15");
  redis->mutable_evidence()->set_auth(v1::AUTH_STATE_NOT_REQUIRED);
  v1::Exposure* mongo = r.add_exposures();
  mongo->set_ip("127.0.0.6");
  mongo->set_port(27017);
  mongo->set_service("MongoDB");
  mongo->set_status(v1::NEW);
  v1::Exposure* dns = r.add_exposures();
  dns->set_ip("127.0.0.7");
  dns->set_port(53);
  dns->set_transport(v1::TRANSPORT_UDP);
  dns->set_service("DNS");
  dns->set_verified(true);
  dns->set_status(v1::NEW);
  dns->mutable_evidence()->set_amplification(31.2);
  dns->mutable_evidence()->add_facts("recursion=available");
  return r;
}

TEST(ReportCheckProbeTest, TheNewFieldsAsTheCoordinatorSendsThemPass) {
  v1::ScanReport r = GoodReport();
  EXPECT_TRUE(CheckScanReport(r).ok()) << CheckScanReport(r);
  r.set_degraded(true);
  r.add_missed_canaries("127.0.0.9:6379/tcp");
  r.add_missed_canaries("::1:53/udp");
  r.set_flap_count(3);
  v1::Flap* f = r.add_flaps();
  f->set_ip("127.0.0.8");
  f->set_port(53);
  f->set_transport(v1::TRANSPORT_UDP);
  f->set_status(v1::CLOSED);
  EXPECT_TRUE(CheckScanReport(r).ok()) << CheckScanReport(r);
}

TEST(ReportCheckProbeTest, BadNewFieldsAreRefusedNamingThem) {
  struct Case {
    void (*mutate)(v1::ScanReport&);
    const char* starts;
  };
  const Case cases[] = {
      {[](v1::ScanReport& r) {
         r.mutable_exposures(2)->mutable_evidence()->set_version(std::string(65, '1'));
       },
       "exposures[2].evidence.version: 65 bytes, at most 64"},
      {[](v1::ScanReport& r) {
         r.mutable_exposures(0)->mutable_evidence()->set_banner("ok\r\nBcc: x@example.com");
       },
       "exposures[0].evidence.banner: 'ok\\x0d\\x0aBcc"},
      {[](v1::ScanReport& r) {
         r.mutable_exposures(0)->mutable_evidence()->set_banner(std::string(129, 'b'));
       },
       "exposures[0].evidence.banner: 129 bytes, at most 128"},
      {[](v1::ScanReport& r) {
         for (int i = 0; i < 9; ++i) r.mutable_exposures(2)->mutable_evidence()->add_facts("a=b");
       },
       "exposures[2].evidence.facts: 10 facts, at most 8"},
      {[](v1::ScanReport& r) {
         r.mutable_exposures(2)->mutable_evidence()->set_facts(0, std::string(97, 'f'));
       },
       "exposures[2].evidence.facts[0]: 97 bytes"},
      {[](v1::ScanReport& r) { r.mutable_exposures(2)->mutable_evidence()->set_amplification(-1); },
       "exposures[2].evidence.amplification: -1"},
      {[](v1::ScanReport& r) {
         r.mutable_exposures(0)->mutable_evidence()->set_auth(static_cast<v1::AuthState>(9));
       },
       "exposures[0].evidence.auth: 9"},
      {[](v1::ScanReport& r) {
         r.mutable_exposures(1)->set_transport(static_cast<v1::Transport>(7));
       },
       "exposures[1].transport: 7"},
      {[](v1::ScanReport& r) { r.mutable_exposures(0)->set_service("Redis. Call +1 555 0100"); },
       "exposures[0].service: 'Redis. Call"},
      {[](v1::ScanReport& r) { r.mutable_exposures(2)->set_verified(false); },
       "exposures[2].service: 'DNS'"},  // unverified: the catalogue's name of 53/udp only
      {[](v1::ScanReport& r) {
         r.set_degraded(true);
         r.add_missed_canaries("127.0.0.9:6379/sctp");
       },
       "missed_canaries[0]: '127.0.0.9:6379/sctp'"},
      {[](v1::ScanReport& r) {
         r.set_degraded(true);
         for (int i = 0; i < 65; ++i) r.add_missed_canaries("127.0.0.9:6379/tcp");
       },
       "missed_canaries: 65 entries, at most 64"},
      {[](v1::ScanReport& r) { r.add_missed_canaries("127.0.0.9:6379/tcp"); },
       "missed_canaries: 1 missed canaries in a report that is not degraded"},
      {[](v1::ScanReport& r) {
         r.set_flap_count(1);
         v1::Flap* f = r.add_flaps();
         f->set_ip("127.0.0.8");
         f->set_port(53);
         f->set_status(v1::STILL_OPEN);
       },
       "flaps[0].status: 2"},
      {[](v1::ScanReport& r) {
         v1::Flap* f = r.add_flaps();
         f->set_ip("127.0.0.8");
         f->set_port(53);
         f->set_status(v1::NEW);
       },
       "flap_count: 0 is less than the 1 flaps listed"},
  };
  for (const Case& c : cases) {
    v1::ScanReport r = GoodReport();
    c.mutate(r);
    absl::Status s = CheckScanReport(r);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.starts;
    EXPECT_THAT(std::string(s.message()), StartsWith(c.starts));
  }
}

std::string TempDb(const std::string& name) {
  const std::string db = ::testing::TempDir() + "/" + name + "-" + std::to_string(getpid()) + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) unlink((db + suffix).c_str());
  return db;
}

// A version-4 database (before transports) keeps its rows, as TCP; a UDP
// exposure of the same ip and port is another key.
TEST(NotifierStoreMigrationTest, AVersion4DatabaseKeepsItsRowsAsTcp) {
  const std::string db = TempDb("v4-migrate");
  SqliteSchema v4 = NotifierSchema();
  v4.migrations.resize(4);
  {
    auto raw = SqliteDb::Open(db, v4);
    ASSERT_TRUE(raw.ok()) << raw.status();
    ASSERT_TRUE((*raw)
                    ->Exec("INSERT INTO acknowledgements (ip, port, until_ms, reason) VALUES "
                           "('127.0.0.9', 53, 9000000000000, 'old');"
                           "INSERT INTO exposures (owner_key, ip, port, first_notified_ms, "
                           "last_notified_ms, open) VALUES ('o', '127.0.0.9', 53, 1000, 2000, 1)")
                    .ok());
  }
  auto store = NotificationStore::Open(db);
  ASSERT_TRUE(store.ok()) << store.status();
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  EXPECT_TRUE(*(*store)->IsAcknowledged("127.0.0.9", 53, now));
  EXPECT_FALSE(*(*store)->IsAcknowledged("127.0.0.9", 53, now, v1::TRANSPORT_UDP));
  auto tcp = (*store)->GetExposure("o", "127.0.0.9", 53);
  ASSERT_TRUE(tcp.ok() && tcp->has_value());
  EXPECT_EQ((*tcp)->last_notified, absl::FromUnixMillis(2000));
  EXPECT_FALSE((*(*store)->GetExposure("o", "127.0.0.9", 53, v1::TRANSPORT_UDP)).has_value());
  ASSERT_TRUE(
      (*store)
          ->CompleteReport("s", {{"o", "127.0.0.9", 53, true, true, v1::TRANSPORT_UDP}}, {}, now)
          .ok());
  auto udp = (*store)->GetExposure("o", "127.0.0.9", 53, v1::TRANSPORT_UDP);
  ASSERT_TRUE(udp.ok() && udp->has_value());
  EXPECT_EQ((*udp)->last_notified, now);
  EXPECT_EQ((*(*store)->GetExposure("o", "127.0.0.9", 53))->last_notified,
            absl::FromUnixMillis(2000))
      << "the TCP row is untouched";
  ASSERT_TRUE(
      (*store)->Acknowledge("127.0.0.9", 53, now + absl::Hours(1), "udp", v1::TRANSPORT_UDP).ok());
  EXPECT_TRUE(*(*store)->IsAcknowledged("127.0.0.9", 53, now, v1::TRANSPORT_UDP));
}

class ProbeReportTest : public ::testing::Test {
 protected:
  ProbeReportTest() : clock_(absl::FromUnixSeconds(1'800'000'000)) {
    auto s = NotificationStore::Open(
        TempDb(std::string("probe-report-") +
               ::testing::UnitTest::GetInstance()->current_test_info()->name()));
    EXPECT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
    config_.mode = NotifierMode::kProd;
    config_.ops_emails = {"noc@ops.example"};
    config_.ops_telegram_chat_id = "-100123";
    config_.notify_closed = true;
  }

  absl::Status Process(const v1::ScanReport& r) {
    ReportProcessor p(config_, *store_, clock_,
                      [](const std::vector<std::string>& ips,
                         ResolutionCounts*) -> absl::StatusOr<std::map<std::string, Owner>> {
                        std::map<std::string, Owner> out;
                        for (const std::string& ip : ips) {
                          out[ip] = {"static:ACME", "ACME", {"sec@acme.example"}, "", "",
                                     "static",      ""};
                        }
                        return out;
                      });
    return p.Process(r);
  }

  std::vector<OutboxItem> Pending(Channel channel) {
    std::vector<OutboxItem> out;
    absl::StatusOr<std::vector<OutboxItem>> all = store_->ListOutbox(OutboxState::kPending);
    EXPECT_TRUE(all.ok()) << all.status();
    if (!all.ok()) return out;
    for (OutboxItem& it : *all) {
      if (it.channel == channel) out.push_back(std::move(it));
    }
    return out;
  }

  FakeClock clock_;
  NotifierConfig config_;
  std::unique_ptr<NotificationStore> store_;
};

TEST_F(ProbeReportTest, EmailGroupsByServiceWithWhatWasSeenAndTheAdvice) {
  v1::ScanReport r = GoodReport();
  ASSERT_TRUE(Process(r).ok());
  std::vector<OutboxItem> mail = Pending(Channel::kEmail);
  ASSERT_EQ(mail.size(), 1u);
  const std::string& body = mail[0].body;
  EXPECT_THAT(body, HasSubstr("\nRedis (1 service)\n* 127.0.0.5:16379  Redis  (new"));
  EXPECT_THAT(body, HasSubstr("Seen: Redis 7.0.15 answered without a password."));
  EXPECT_THAT(body, HasSubstr("What to do: never expose Redis"))
      << "Redis on an unusual port gets Redis's advice";
  EXPECT_THAT(body, HasSubstr("Seen: port 27017/tcp is open; we could not confirm which service "
                              "answers."));
  EXPECT_THAT(body, HasSubstr("never expose MongoDB"));
  EXPECT_THAT(body, HasSubstr("\nDNS (1 service)\n* 127.0.0.7:53/udp  DNS  (new"));
  EXPECT_THAT(body, HasSubstr("DNS open resolver answered a recursive query (31x amplification)"));
  EXPECT_THAT(body, HasSubstr("disable recursion, or allow it only for your own clients"));
}

TEST_F(ProbeReportTest, DegradedReportNeverSaysClosedAndKeepsTheState) {
  ASSERT_TRUE(Process(GoodReport()).ok());
  v1::ScanReport second = GoodReport();
  second.set_scan_id("20261202-182233-0a9f3c");
  for (v1::Exposure& e : *second.mutable_exposures()) e.set_status(v1::CLOSED);
  second.set_degraded(true);
  second.add_missed_canaries("127.0.0.9:6379/tcp");
  second.set_flap_count(2);
  clock_.Advance(absl::Hours(24));
  ASSERT_TRUE(Process(second).ok());
  for (const OutboxItem& it : Pending(Channel::kEmail)) {
    if (it.scan_id == second.scan_id()) {
      EXPECT_THAT(it.body, Not(HasSubstr("closed"))) << it.body;
      EXPECT_THAT(it.body, Not(HasSubstr("No longer reachable"))) << it.body;
    }
  }
  auto state = store_->GetExposure("static:ACME", "127.0.0.7", 53, v1::TRANSPORT_UDP);
  ASSERT_TRUE(state.ok() && state->has_value());
  EXPECT_TRUE((*state)->open) << "a degraded run does not close what it could not see";
  std::string telegram;
  for (const OutboxItem& it : Pending(Channel::kTelegram)) {
    if (it.scan_id == second.scan_id()) telegram += it.body;
  }
  EXPECT_THAT(telegram, HasSubstr("0 closed"));
  EXPECT_THAT(telegram, HasSubstr("DEGRADED</b>: canaries missed: 127.0.0.9:6379/tcp"));
  EXPECT_THAT(telegram, HasSubstr("flaps: 2"));

  // The same closings in a trusted report are told (notify_closed) as today.
  v1::ScanReport third = second;
  third.set_scan_id("20261203-182233-0a9f3c");
  third.set_degraded(false);
  third.clear_missed_canaries();
  third.set_flap_count(0);
  clock_.Advance(absl::Hours(24));
  ASSERT_TRUE(Process(third).ok());
  std::string told;
  for (const OutboxItem& it : Pending(Channel::kEmail)) {
    if (it.scan_id == third.scan_id()) told += it.body;
  }
  EXPECT_THAT(told, HasSubstr("No longer reachable"));
  std::string tg3;
  for (const OutboxItem& it : Pending(Channel::kTelegram)) {
    if (it.scan_id == third.scan_id()) tg3 += it.body;
  }
  EXPECT_THAT(tg3, HasSubstr("3 closed"));
  EXPECT_THAT(tg3, Not(HasSubstr("flaps")));
  EXPECT_THAT(tg3, Not(HasSubstr("DEGRADED")));
}

TEST_F(ProbeReportTest, TelegramSummaryGroupsByTheServiceThatAnswered) {
  v1::ScanReport r = GoodReport();
  r.set_flap_count(4);
  ASSERT_TRUE(Process(r).ok());
  std::string tg;
  for (const OutboxItem& it : Pending(Channel::kTelegram)) tg += it.body;
  EXPECT_THAT(tg, HasSubstr("Redis: 1 (1 new)"));
  EXPECT_THAT(tg, HasSubstr("DNS: 1 (1 new)"));
  EXPECT_THAT(tg, HasSubstr("flaps: 4")) << "shown when not degraded, as N > 0";
  EXPECT_THAT(tg, Not(HasSubstr("DEGRADED")));
}

}  // namespace
}  // namespace goalkeeper
