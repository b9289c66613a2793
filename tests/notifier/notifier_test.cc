// The notifier's core: report -> owners -> outbox -> channels, with a real
// SQLite file, a fake clock, a fake owner lookup and fake channels.
#include <unistd.h>

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/sqlite.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "notifier/outbox_sender.h"
#include "notifier/report_processor.h"
#include "notifier/telegram_summary.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;
using ::testing::HasSubstr;
using ::testing::Not;

class FakeMailer : public Mailer {
 public:
  absl::Status Send(const EmailMessage& m) override {
    if (down) return absl::UnavailableError("connection refused");
    sent.push_back(m);
    return absl::OkStatus();
  }
  bool down = false;
  std::vector<EmailMessage> sent;
};

class FakeTelegram : public TelegramSender {
 public:
  TelegramResult Send(const std::string& chat, const std::string& html) override {
    if (flood > 0) {
      --flood;
      return {absl::UnavailableError("Too Many Requests"), absl::Seconds(35)};
    }
    sent.push_back({chat, html});
    return {absl::OkStatus(), std::nullopt};
  }
  int flood = 0;
  std::vector<std::pair<std::string, std::string>> sent;
};

class NotifierTest : public ::testing::Test {
 protected:
  NotifierTest() : clock_(absl::FromUnixSeconds(1'800'000'000)) {
    db_ = ::testing::TempDir() + "/notifier-" + std::to_string(getpid()) + "-" +
          ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db";
    unlink(db_.c_str());
    config_.mode = NotifierMode::kProd;
    config_.ops_emails = {"noc@ops.example"};
    config_.ops_telegram_chat_id = "-100123";
    owners_["198.51.100.1"] = {"fleio:1", "ACME", {"sec@acme.example"}, "", "p1", "fleio", ""};
    owners_["198.51.100.2"] = {"fleio:1", "ACME", {"sec@acme.example"}, "", "p1", "fleio", ""};
    owners_["198.51.100.3"] = {"fleio:2", "Globex", {"it@globex.example"}, "", "p2", "fleio", ""};
    owners_["203.0.113.9"] = {kNotFound, kNotFound, {}, "", "", "none", "no project"};
    Open();
  }

  void Open() {
    store_.reset();
    auto s = NotificationStore::Open(db_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
  }

  ReportProcessor Processor() {
    return ReportProcessor(
        config_, *store_, clock_,
        [this](const std::vector<std::string>& ips,
               ResolutionCounts*) -> absl::StatusOr<std::map<std::string, Owner>> {
          ++resolve_calls_;
          if (resolver_down_) return absl::UnavailableError("fleio: HTTP 503");
          std::map<std::string, Owner> out;
          for (const std::string& ip : ips) out[ip] = owners_.at(ip);
          return out;
        });
  }

  v1::ScanReport Report(
      const std::string& id,
      const std::vector<std::tuple<std::string, uint32_t, v1::ExposureStatus>>& ex) {
    v1::ScanReport r;
    r.set_scan_id(id);
    r.set_inventory("prod");
    r.set_finished_unix_ms(absl::ToUnixMillis(clock_.Now()));
    for (const auto& [ip, port, status] : ex) {
      v1::Exposure* e = r.add_exposures();
      e->set_ip(ip);
      e->set_port(port);
      e->set_service(port == 6379 ? "Redis" : port == 5432 ? "PostgreSQL" : "SSH");
      e->set_status(status);
      e->set_first_seen_unix_ms(absl::ToUnixMillis(clock_.Now()));
    }
    return r;
  }

  // Stores, processes and sends everything due.
  void Deliver(const v1::ScanReport& r) {
    ASSERT_TRUE(store_->InsertReport(r, clock_.Now()).ok());
    auto next = store_->NextReport(clock_.Now());
    ASSERT_TRUE(next.ok() && *next);
    ReportProcessor p = Processor();
    ASSERT_TRUE(p.Process(**next).ok());
    OutboxSender sender(config_, *store_, mailer_, telegram_, clock_);
    sender.Tick();
  }

  std::map<std::string, EmailMessage> ByFirstRecipient() {
    std::map<std::string, EmailMessage> out;
    for (const EmailMessage& m : mailer_.sent) out[m.to.front()] = m;
    return out;
  }

  FakeClock clock_;
  NotifierConfig config_;
  std::string db_;
  std::unique_ptr<NotificationStore> store_;
  std::map<std::string, Owner> owners_;
  FakeMailer mailer_;
  FakeTelegram telegram_;
  int resolve_calls_ = 0;
  bool resolver_down_ = false;
};

TEST_F(NotifierTest, EachOwnerGetsOneEmailWithExactlyTheirExposures) {
  Deliver(Report("s1", {{"198.51.100.1", 6379, v1::NEW},
                        {"198.51.100.2", 5432, v1::NEW},
                        {"198.51.100.1", 22, v1::NEW},
                        {"198.51.100.3", 5432, v1::NEW},
                        {"203.0.113.9", 6379, v1::NEW}}));
  ASSERT_EQ(mailer_.sent.size(), 3u);  // ACME, Globex, NOT FOUND to the operators
  auto mail = ByFirstRecipient();
  const EmailMessage& acme = mail.at("sec@acme.example");
  EXPECT_THAT(acme.cc, ::testing::ElementsAre("noc@ops.example"));
  EXPECT_THAT(acme.subject, HasSubstr("3 services exposed to the Internet (ACME)"));
  EXPECT_THAT(acme.text_body, HasSubstr("198.51.100.1:6379  Redis  (new"));
  EXPECT_THAT(acme.text_body, HasSubstr("198.51.100.2:5432  PostgreSQL"));
  EXPECT_THAT(acme.text_body, HasSubstr("198.51.100.1:22  SSH"));
  EXPECT_THAT(acme.text_body, HasSubstr("never expose Redis"));
  EXPECT_THAT(acme.text_body, Not(HasSubstr("198.51.100.3")));
  const EmailMessage& globex = mail.at("it@globex.example");
  EXPECT_THAT(globex.text_body, HasSubstr("198.51.100.3:5432"));
  EXPECT_THAT(globex.text_body, Not(HasSubstr("198.51.100.1")));
  const EmailMessage& ops = mail.at("noc@ops.example");
  EXPECT_THAT(ops.subject, HasSubstr("NOT FOUND"));
  EXPECT_THAT(ops.text_body,
              HasSubstr("203.0.113.9:6379  Redis  (new) owner NOT FOUND: no project"));
  ASSERT_EQ(telegram_.sent.size(), 1u);
  EXPECT_EQ(telegram_.sent[0].first, "-100123");
  EXPECT_THAT(telegram_.sent[0].second, HasSubstr("5 exposed, 5 new, 0 closed"));
  EXPECT_THAT(telegram_.sent[0].second, HasSubstr("ACME: 3"));
  EXPECT_NE(acme.message_id, globex.message_id);
}

TEST_F(NotifierTest, StageModeSendsNothingToCustomers) {
  config_.mode = NotifierMode::kStage;
  Deliver(Report("s1", {{"198.51.100.1", 6379, v1::NEW}, {"198.51.100.3", 5432, v1::NEW}}));
  ASSERT_EQ(mailer_.sent.size(), 2u);
  for (const EmailMessage& m : mailer_.sent) {
    EXPECT_THAT(m.to, ::testing::ElementsAre("noc@ops.example"));
    EXPECT_TRUE(m.cc.empty());
    EXPECT_THAT(m.subject, HasSubstr("[stage]"));
    EXPECT_THAT(m.text_body, HasSubstr("In prod this would go to"));
  }
}

TEST_F(NotifierTest, SameExposuresNextDaySendNothingUntilTheRepeatInterval) {
  Deliver(Report("day1", {{"198.51.100.1", 6379, v1::NEW}}));
  ASSERT_EQ(mailer_.sent.size(), 1u);
  clock_.Advance(absl::Hours(24));
  Deliver(Report("day2", {{"198.51.100.1", 6379, v1::STILL_OPEN}}));
  EXPECT_EQ(mailer_.sent.size(), 1u) << "no new email the next day";
  EXPECT_EQ(telegram_.sent.size(), 2u) << "the operators still get the daily summary";
  clock_.Advance(absl::Hours(24 * 6));  // 7 days after the first email
  Deliver(Report("day8", {{"198.51.100.1", 6379, v1::STILL_OPEN}}));
  ASSERT_EQ(mailer_.sent.size(), 2u) << "a reminder after repeat_interval";
  EXPECT_THAT(mailer_.sent[1].text_body, HasSubstr("(still open"));
}

TEST_F(NotifierTest, ClosedIsToldOnlyWhenConfiguredAndReopenedIsNew) {
  config_.notify_closed = true;
  Deliver(Report("s1", {{"198.51.100.1", 6379, v1::NEW}}));
  clock_.Advance(absl::Hours(24));
  Deliver(Report("s2", {{"198.51.100.1", 6379, v1::CLOSED}}));
  ASSERT_EQ(mailer_.sent.size(), 2u);
  EXPECT_THAT(mailer_.sent[1].text_body, HasSubstr("(closed"));
  clock_.Advance(absl::Hours(24));
  Deliver(Report("s3", {{"198.51.100.1", 6379, v1::NEW}}));
  ASSERT_EQ(mailer_.sent.size(), 3u);
  EXPECT_THAT(mailer_.sent[2].text_body, HasSubstr("(new"));
}

TEST_F(NotifierTest, AcknowledgedExposuresAreNotNotifiedUntilTheyExpire) {
  ASSERT_TRUE(
      store_->Acknowledge("198.51.100.1", 22, clock_.Now() + absl::Hours(48), "bastion").ok());
  config_.acknowledged.push_back(
      {"198.51.100.3", 5432, clock_.Now() + absl::Hours(1), "migration"});
  Deliver(Report("s1", {{"198.51.100.1", 22, v1::NEW}, {"198.51.100.3", 5432, v1::NEW}}));
  EXPECT_TRUE(mailer_.sent.empty());
  EXPECT_THAT(telegram_.sent.back().second, HasSubstr("0 notified, 2 acknowledged"));
  clock_.Advance(absl::Hours(72));
  Deliver(
      Report("s2", {{"198.51.100.1", 22, v1::STILL_OPEN}, {"198.51.100.3", 5432, v1::STILL_OPEN}}));
  EXPECT_EQ(mailer_.sent.size(), 2u) << "expired acknowledgements notify again";
}

TEST_F(NotifierTest, ADuplicateReportIsStoredOnceAndNotifiesOnce) {
  v1::ScanReport r = Report("s1", {{"198.51.100.1", 6379, v1::NEW}});
  Deliver(r);
  auto again = store_->InsertReport(r, clock_.Now());
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  auto next = store_->NextReport(clock_.Now());
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
  EXPECT_EQ(mailer_.sent.size(), 1u);
}

TEST_F(NotifierTest, ResolverOutageLeavesTheReportForLater) {
  resolver_down_ = true;
  v1::ScanReport r = Report("s1", {{"198.51.100.1", 6379, v1::NEW}});
  ASSERT_TRUE(store_->InsertReport(r, clock_.Now()).ok());
  ReportProcessor p = Processor();
  EXPECT_EQ(p.Process(r).code(), absl::StatusCode::kUnavailable);
  auto next = store_->NextReport(clock_.Now());
  ASSERT_TRUE(next.ok() && next->has_value()) << "still unprocessed";
  resolver_down_ = false;
  ASSERT_TRUE(p.Process(**next).ok());
  OutboxSender(config_, *store_, mailer_, telegram_, clock_).Tick();
  EXPECT_EQ(mailer_.sent.size(), 1u);
}

TEST_F(NotifierTest, SmtpOutageAcrossARestartDeliversEveryEmailExactlyOnce) {
  mailer_.down = true;
  Deliver(Report("s1", {{"198.51.100.1", 6379, v1::NEW}, {"198.51.100.3", 5432, v1::NEW}}));
  EXPECT_TRUE(mailer_.sent.empty());
  Open();  // the notifier restarts while the SMTP server is down
  for (int minute = 0; minute < 60; ++minute) {  // an hour of outage
    clock_.Advance(absl::Minutes(1));
    OutboxSender(config_, *store_, mailer_, telegram_, clock_).Tick();
  }
  EXPECT_TRUE(mailer_.sent.empty());
  mailer_.down = false;
  clock_.Advance(absl::Minutes(10));  // the longest backoff
  OutboxSender sender(config_, *store_, mailer_, telegram_, clock_);
  sender.Tick();
  sender.Tick();
  EXPECT_EQ(mailer_.sent.size(), 2u);
  std::set<std::string> to;
  for (const EmailMessage& m : mailer_.sent) to.insert(m.to.front());
  EXPECT_EQ(to, (std::set<std::string>{"sec@acme.example", "it@globex.example"}));
  clock_.Advance(absl::Hours(1));
  sender.Tick();
  EXPECT_EQ(mailer_.sent.size(), 2u) << "never repeated";
}

TEST_F(NotifierTest, TelegramFloodControlWaitsRetryAfter) {
  telegram_.flood = 1;
  Deliver(Report("s1", {{"198.51.100.1", 6379, v1::NEW}}));
  EXPECT_TRUE(telegram_.sent.empty());
  OutboxSender sender(config_, *store_, mailer_, telegram_, clock_);
  clock_.Advance(absl::Seconds(30));
  sender.Tick();
  EXPECT_TRUE(telegram_.sent.empty()) << "35 s not yet passed";
  clock_.Advance(absl::Seconds(6));
  sender.Tick();
  EXPECT_EQ(telegram_.sent.size(), 1u);
}

// What /metrics reads: the sender's counts (a 429 honoured counts as a
// failure and as rate limited) and when the oldest waiting item was queued.
TEST_F(NotifierTest, CountsSentFailedRateLimitedAndTheOldestWaitingItem) {
  const absl::Time queued = clock_.Now();
  telegram_.flood = 1;
  mailer_.down = true;
  Deliver(Report("s1", {{"198.51.100.1", 6379, v1::NEW}}));
  auto oldest = store_->OldestPendingOutbox();
  ASSERT_TRUE(oldest.ok());
  EXPECT_EQ(oldest->at(Channel::kEmail), queued);
  EXPECT_EQ(oldest->at(Channel::kTelegram), queued);
  OutboxSender sender(config_, *store_, mailer_, telegram_, clock_);
  clock_.Advance(absl::Seconds(36));  // past the 429's retry_after and the email's backoff
  telegram_.flood = 1;
  sender.Tick();
  EXPECT_EQ(sender.counts().rate_limited.at(Channel::kTelegram), 1u);
  EXPECT_EQ(sender.counts().failed.at(Channel::kTelegram), 1u);
  EXPECT_GE(sender.counts().failed.at(Channel::kEmail), 1u);
  EXPECT_EQ(sender.counts().rate_limited.count(Channel::kEmail), 0u);
  mailer_.down = false;
  clock_.Advance(absl::Minutes(10));
  sender.Tick();
  EXPECT_EQ(sender.counts().sent.at(Channel::kTelegram), 1u);
  EXPECT_GE(sender.counts().sent.at(Channel::kEmail), 1u);
  oldest = store_->OldestPendingOutbox();
  ASSERT_TRUE(oldest.ok());
  EXPECT_TRUE(oldest->empty()) << "nothing waits";
}

TEST_F(NotifierTest, GivesUpAfterTheConfiguredTimeAndTellsTheOperators) {
  config_.give_up_after = absl::Hours(72);
  mailer_.down = true;
  Deliver(Report("s1", {{"198.51.100.3", 5432, v1::NEW}}));
  for (int i = 0; i < 80; ++i) {
    clock_.Advance(absl::Hours(1));
    OutboxSender(config_, *store_, mailer_, telegram_, clock_).Tick();
  }
  auto dead = store_->ListOutbox(OutboxState::kDead);
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].to, std::vector<std::string>{"it@globex.example"});
  EXPECT_THAT(telegram_.sent.back().second, HasSubstr("was given up"));
  mailer_.down = false;
  clock_.Advance(absl::Minutes(10));  // the notice's own backoff
  OutboxSender(config_, *store_, mailer_, telegram_, clock_).Tick();
  ASSERT_EQ(mailer_.sent.size(), 1u);
  EXPECT_EQ(mailer_.sent[0].to, std::vector<std::string>{"noc@ops.example"});
  EXPECT_THAT(mailer_.sent[0].text_body, HasSubstr("it@globex.example"));
}

// One 60k-exposure report was 502 Telegram messages: a summary stays a summary.
TEST_F(NotifierTest, TelegramSummaryOfA60kExposureReportIsAFewMessages) {
  constexpr int kIps = 20000;  // x 3 ports = 60,000 exposures
  constexpr int kOwners = 200;
  std::vector<std::tuple<std::string, uint32_t, v1::ExposureStatus>> exposures;
  for (int i = 0; i < kIps; ++i) {
    const std::string ip = absl::StrCat("10.", i / 65536, ".", (i / 256) % 256, ".", i % 256);
    const int o = i % kOwners;
    owners_[ip] = {absl::StrCat("fleio:", o),
                   absl::StrFormat("Owner %03d", o),
                   {absl::StrFormat("sec%03d@owner.example", o)},
                   "",
                   "",
                   "fleio",
                   ""};
    for (uint32_t port : {22u, 5432u, 6379u}) exposures.emplace_back(ip, port, v1::NEW);
  }
  const v1::ScanReport report = Report("big", exposures);
  ASSERT_EQ(report.exposures_size(), 60000);
  ASSERT_TRUE(store_->InsertReport(report, clock_.Now()).ok());
  ReportProcessor p = Processor();
  ASSERT_TRUE(p.Process(report).ok());

  auto pending = store_->ListOutbox(OutboxState::kPending);
  ASSERT_TRUE(pending.ok()) << pending.status();
  std::vector<std::string> parts;
  size_t emails = 0;
  for (const OutboxItem& it : *pending) {
    if (it.channel == Channel::kTelegram) {
      parts.push_back(it.body);
    } else {
      ++emails;
    }
  }
  EXPECT_EQ(emails, size_t{kOwners}) << "one email per owner, whatever the size";
  ASSERT_GE(parts.size(), 1u);
  EXPECT_LE(parts.size(), kMaxTelegramSummaryParts);
  std::string text;
  for (const std::string& part : parts) {
    EXPECT_LE(part.size(), 4096u * 4);
    text += part;
  }
  EXPECT_THAT(text,
              HasSubstr("60000 exposed, 60000 new, 0 closed; 60000 notified, 0 acknowledged"));
  EXPECT_THAT(text, HasSubstr("<b>By service</b> (3 services)\n"
                              "PostgreSQL: 20000 (20000 new)\n"
                              "Redis: 20000 (20000 new)\n"
                              "SSH: 20000 (20000 new)\n"));
  EXPECT_THAT(text, HasSubstr("<b>Top owners</b> (200 owners)\nOwner 000: 300 (300 new)\n"));
  EXPECT_THAT(text, HasSubstr("Owner 009: 300 (300 new)\n… and 190 more owners (57000 exposed)\n"));
  EXPECT_THAT(text, Not(HasSubstr("Owner 010:")));
  EXPECT_THAT(text, HasSubstr("<b>New</b> (the first 15 of 60000)\n"
                              "• 10.0.0.0:22 SSH — Owner 000\n"));
  EXPECT_THAT(text, HasSubstr("… and 59985 more new\n"));
  size_t bullets = 0;
  for (size_t at = text.find("• "); at != std::string::npos; at = text.find("• ", at + 1)) {
    ++bullets;
  }
  EXPECT_EQ(bullets, kTelegramSummaryNewEntries);
}

TEST(TelegramSummaryTest, LongNamesAreCutSoTheSummaryStaysBounded) {
  v1::ScanReport report;
  report.set_scan_id(std::string(5000, 's'));
  report.set_inventory("prod");
  std::map<std::string, Owner> owners;
  for (int i = 0; i < 500; ++i) {
    v1::Exposure* e = report.add_exposures();
    e->set_ip(absl::StrCat("192.0.2.", i % 256));
    e->set_port(static_cast<uint32_t>(1000 + i));
    e->set_service(absl::StrCat(std::string(3000, 'x'), i, "<&>"));
    e->set_status(i % 2 == 0 ? v1::NEW : v1::STILL_OPEN);
    const std::string long_name =
        absl::StrCat(i % 256, absl::StrJoin(std::vector<std::string>(3000, "ö"), ""));
    owners[e->ip()] = {absl::StrCat("k", i % 256), long_name, {}, "", "", "static", ""};
  }
  const std::vector<std::string> parts = RenderTelegramSummary(report, owners, {250, 0}, true);
  ASSERT_GE(parts.size(), 1u);
  EXPECT_LE(parts.size(), kMaxTelegramSummaryParts);
  const std::string text = absl::StrJoin(parts, "");
  EXPECT_THAT(text, HasSubstr("<b>Goalkeeper [stage]</b> scan " + std::string(80, 's') + "…"));
  EXPECT_THAT(text, HasSubstr("500 exposed, 250 new, 0 closed; 250 notified, 0 acknowledged"));
  EXPECT_THAT(text, HasSubstr("… and 490 more services (490 exposed)"));
  EXPECT_THAT(text, HasSubstr("… and 246 more owners"));
  EXPECT_THAT(text, HasSubstr("… and 235 more new"));
  EXPECT_THAT(text, Not(HasSubstr("<&>"))) << "names are cut before the markup characters";
  EXPECT_THAT(text, Not(HasSubstr(std::string(81, 'x'))));
}

TEST(OutboxTest, ChannelsAreStoredByTheirStableNames) {
  EXPECT_EQ(ChannelName(Channel::kEmail), "email");
  EXPECT_EQ(ChannelName(Channel::kTelegram), "telegram");
  for (Channel c : kAllChannels) EXPECT_EQ(ParseChannel(ChannelName(c)), c);
  EXPECT_EQ(ParseChannel("sms"), std::nullopt);
  EXPECT_EQ(MessageIdFor("email:s1:fleio:1"), MessageIdFor("email:s1:fleio:1"));
  EXPECT_NE(MessageIdFor("email:s1:fleio:1"), MessageIdFor("email:s1:fleio:2"));
}

TEST(OutboxTest, ReadsRowsAnOlderNotifierWroteAndRefusesUnknownChannels) {
  const std::string db =
      ::testing::TempDir() + "/outbox-compat-" + std::to_string(getpid()) + ".db";
  unlink(db.c_str());
  {
    auto store = NotificationStore::Open(db);
    ASSERT_TRUE(store.ok()) << store.status();
  }
  {
    // Rows as the string-channel notifier wrote them.
    auto raw = SqliteDb::Open(db);
    ASSERT_TRUE(raw.ok()) << raw.status();
    ASSERT_TRUE((*raw)
                    ->Exec("INSERT INTO outbox (key, scan_id, channel, recipients, cc, subject, "
                           "body, created_ms, next_attempt_ms) VALUES "
                           "('telegram:s0:0', 's0', 'telegram', '-100123', '', '', 'hi', 0, 0), "
                           "('email:s0:x', 's0', 'email', 'a@b.cd', '', 'S', 'B', 0, 1)")
                    .ok());
  }
  auto store = NotificationStore::Open(db);
  ASSERT_TRUE(store.ok()) << store.status();
  auto due = (*store)->DueOutbox(absl::FromUnixMillis(10), 10);
  ASSERT_TRUE(due.ok()) << due.status();
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].channel, Channel::kTelegram);
  EXPECT_EQ((*due)[1].channel, Channel::kEmail);
  auto counts = (*store)->CountOutbox();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ((*counts)[Channel::kEmail][OutboxState::kPending], 1u);
  EXPECT_EQ((*counts)[Channel::kTelegram][OutboxState::kPending], 1u);
  {
    auto raw = SqliteDb::Open(db);
    ASSERT_TRUE(raw.ok());
    ASSERT_TRUE((*raw)->Exec("UPDATE outbox SET channel = 'sms' WHERE key = 'email:s0:x'").ok());
  }
  due = (*store)->DueOutbox(absl::FromUnixMillis(10), 10);
  ASSERT_FALSE(due.ok());
  EXPECT_EQ(due.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(due.status().message(), "outbox row 'email:s0:x' has an unknown channel 'sms'");
  unlink(db.c_str());
}

}  // namespace
}  // namespace goalkeeper
