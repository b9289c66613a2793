// The notifier's checks of delivered scan reports (notifier/report_check.h):
// what the coordinator produces passes; every other value of a field that
// reaches an email or the Telegram summary is INVALID_ARGUMENT naming the
// field; and no value a client sends ends up in an email's header section.
#include "notifier/report_check.h"

#include <unistd.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/services.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "notifier/email_render.h"
#include "notifier/outbox_sender.h"
#include "notifier/report_processor.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

// A report as the coordinator makes it (coordinator/scan_manager.cc).
v1::ScanReport CoordinatorReport() {
  v1::ScanReport r;
  r.set_scan_id("20261201-182233-0a9f3c");
  r.set_base_scan_id("20261130-060000-ffee01");
  r.set_inventory("prod-eu_1.a");
  r.set_started_unix_ms(1'800'000'000'000);
  r.set_finished_unix_ms(1'800'000'100'000);
  r.set_probes(1000);
  struct {
    const char* ip;
    uint32_t port;
    v1::ExposureStatus status;
  } rows[] = {{"198.51.100.7", 6379, v1::NEW},
              {"2001:db8::5", 5432, v1::STILL_OPEN},
              {"198.51.100.8", 31337, v1::CLOSED}};
  for (const auto& row : rows) {
    v1::Exposure* e = r.add_exposures();
    e->set_ip(row.ip);
    e->set_port(row.port);
    e->set_service(ServiceName(static_cast<uint16_t>(row.port)));
    e->set_status(row.status);
    e->set_first_seen_unix_ms(1'799'000'000'000);
  }
  return r;
}

TEST(ReportCheckTest, WhatTheCoordinatorProducesPasses) {
  v1::ScanReport r = CoordinatorReport();
  EXPECT_TRUE(CheckScanReport(r).ok()) << CheckScanReport(r);
  r.set_base_scan_id("");                           // the first scan of an inventory
  r.set_inventory("");                              // an ad-hoc scan
  r.mutable_exposures(0)->set_service("tcp/6379");  // an older catalogue
  r.mutable_exposures(1)->set_service("");
  EXPECT_TRUE(CheckScanReport(r).ok()) << CheckScanReport(r);
}

TEST(ReportCheckTest, ScanIdsHaveTheCoordinatorsFormat) {
  EXPECT_TRUE(IsCoordinatorScanId("20261201-182233-0a9f3c"));
  for (const char* bad :
       {"", "s1", "20261201-182233-0A9F3C", "20261201-182233-0a9f3", "20261201_182233-0a9f3c",
        "2026120a-182233-0a9f3c", "20261201-182233-0a9f3c\n", "20261201-182233-0a9f3cz",
        "../../etc/passwd"}) {
    EXPECT_FALSE(IsCoordinatorScanId(bad)) << bad;
  }
}

struct BadCase {
  const char* what;
  void (*mutate)(v1::ScanReport&);
  const char* field;  // the error starts with it
};

TEST(ReportCheckTest, EveryFreeTextFieldIsRefusedNamingIt) {
  const BadCase cases[] = {
      {"phishing scan id",
       [](v1::ScanReport& r) {
         r.set_scan_id("Your account is locked: https://evil.example/login");
       },
       "scan_id: 'Your account"},
      {"CRLF in the scan id",
       [](v1::ScanReport& r) {
         r.set_scan_id("20261201-182233-0a9f3c\r\nBcc: victim@example.com");
       },
       "scan_id: '20261201-182233-0a9f3c\\x0d\\x0aBcc"},
      {"empty scan id", [](v1::ScanReport& r) { r.set_scan_id(""); }, "scan_id: ''"},
      {"huge scan id", [](v1::ScanReport& r) { r.set_scan_id(std::string(1 << 20, 'a')); },
       "scan_id: 'aaaa"},
      {"base scan id", [](v1::ScanReport& r) { r.set_base_scan_id("<b>x</b>"); },
       "base_scan_id: '<b>x</b>'"},
      {"inventory with a space", [](v1::ScanReport& r) { r.set_inventory("prod call +1 555"); },
       "inventory: 'prod call +1 555'"},
      {"inventory with HTML", [](v1::ScanReport& r) { r.set_inventory("<a href=x>y</a>"); },
       "inventory: '<a href"},
      {"inventory too long", [](v1::ScanReport& r) { r.set_inventory(std::string(65, 'i')); },
       "inventory: 'iiii"},
      {"negative start", [](v1::ScanReport& r) { r.set_started_unix_ms(-1); },
       "started_unix_ms: -1"},
      {"finish past 9999", [](v1::ScanReport& r) { r.set_finished_unix_ms(INT64_MAX); },
       "finished_unix_ms: "},
      {"service as free text",
       [](v1::ScanReport& r) {
         r.mutable_exposures(0)->set_service("Redis. Call our helpdesk at +1 555 0100");
       },
       "exposures[0].service: 'Redis. Call"},
      {"service of another port",
       [](v1::ScanReport& r) { r.mutable_exposures(0)->set_service("SSH"); },
       "exposures[0].service: 'SSH'"},
      {"service with CRLF",
       [](v1::ScanReport& r) { r.mutable_exposures(2)->set_service("tcp/31337\r\nSubject: x"); },
       "exposures[2].service: 'tcp/31337\\x0d\\x0a"},
      {"non-canonical ip",
       [](v1::ScanReport& r) { r.mutable_exposures(1)->set_ip("2001:DB8:0:0::5"); },
       "exposures[1].ip: '2001:DB8"},
      {"ip with text",
       [](v1::ScanReport& r) { r.mutable_exposures(0)->set_ip("198.51.100.7 (pay now)"); },
       "exposures[0].ip: "},
      {"port 0", [](v1::ScanReport& r) { r.mutable_exposures(0)->set_port(0); },
       "exposures[0].port: 0"},
      {"port 70000", [](v1::ScanReport& r) { r.mutable_exposures(0)->set_port(70000); },
       "exposures[0].port: 70000"},
      {"unset status",
       [](v1::ScanReport& r) {
         r.mutable_exposures(1)->set_status(v1::EXPOSURE_STATUS_UNSPECIFIED);
       },
       "exposures[1].status: 0"},
      {"unknown status",
       [](v1::ScanReport& r) {
         r.mutable_exposures(1)->set_status(static_cast<v1::ExposureStatus>(77));
       },
       "exposures[1].status: 77"},
      {"first seen", [](v1::ScanReport& r) { r.mutable_exposures(2)->set_first_seen_unix_ms(-5); },
       "exposures[2].first_seen_unix_ms: -5"},
  };
  for (const BadCase& c : cases) {
    v1::ScanReport r = CoordinatorReport();
    c.mutate(r);
    absl::Status s = CheckScanReport(r);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.what;
    EXPECT_THAT(Msg(s), StartsWith(c.field)) << c.what;
    // The quoted value is bounded and holds no control byte.
    EXPECT_LT(s.message().size(), 400u) << c.what;
    for (char ch : s.message()) EXPECT_GE(static_cast<unsigned char>(ch), 0x20) << c.what;
  }
  // The header alone is what the report stream checks before any exposure.
  v1::ScanReport header = CoordinatorReport();
  header.clear_exposures();
  header.set_inventory("a b");
  EXPECT_THAT(Msg(CheckReportHeader(header)), StartsWith("inventory: "));
}

TEST(ReportCheckTest, AcknowledgeReasonsAreBoundedPrintableText) {
  EXPECT_TRUE(CheckAcknowledgeReason("").ok());
  EXPECT_TRUE(CheckAcknowledgeReason("customer's VPN gateway, ticket #4411 — until März").ok());
  EXPECT_THAT(Msg(CheckAcknowledgeReason(std::string(501, 'r'))),
              StartsWith("reason: 501 bytes (at most 500)"));
  for (std::string bad :
       {std::string("ok\r\nBcc: x"), std::string("tab\there"), std::string("nul\0x", 5),
        std::string("\xc2\x85next line"), std::string("bad \xff utf-8")}) {
    absl::Status s = CheckAcknowledgeReason(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(Msg(s), StartsWith("reason: '")) << bad;
  }
}

// Keeps the text the real mail builder renders for each message.
class RenderingMailer : public Mailer {
 public:
  absl::Status Send(const EmailMessage& m) override {
    rendered.push_back(RenderMessage(m));
    return absl::OkStatus();
  }
  std::vector<std::string> rendered;
};

class DiscardTelegram : public TelegramSender {
 public:
  TelegramResult Send(const std::string&, const std::string&) override {
    return {absl::OkStatus(), std::nullopt};
  }
};

TEST(ReportCheckTest, NoValueAClientSendsBecomesAnEmailHeader) {
  const std::string db = ::testing::TempDir() + "/report-check-" + std::to_string(getpid()) + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) unlink((db + suffix).c_str());
  auto store = NotificationStore::Open(db);
  ASSERT_TRUE(store.ok()) << store.status();
  FakeClock clock(absl::FromUnixSeconds(1'800'000'200));
  NotifierConfig config;
  config.mode = NotifierMode::kProd;
  config.email_from = "Goalkeeper <goalkeeper@ops.example>";
  config.ops_emails = {"noc@ops.example"};
  config.ops_telegram_chat_id = "-100123";
  config.notify_closed = true;
  // 198.51.100.7 has an owner; the others are NOT FOUND (the operators' mail).
  ResolveFn resolve = [](const std::vector<std::string>& ips,
                         ResolutionCounts*) -> absl::StatusOr<std::map<std::string, Owner>> {
    std::map<std::string, Owner> out;
    for (const std::string& ip : ips) {
      out[ip] = ip == "198.51.100.7"
                    ? Owner{"fleio:1", "ACME", {"sec@acme.example"}, "", "p1", "fleio", ""}
                    : Owner{kNotFound, kNotFound, {}, "", "", "none", "no project"};
    }
    return out;
  };
  // Every client-sent value is as long and odd as the checks allow.
  v1::ScanReport report = CoordinatorReport();
  report.set_inventory(std::string("Bcc.") + std::string(60, 'X'));
  ASSERT_TRUE(CheckScanReport(report).ok()) << CheckScanReport(report);
  ASSERT_TRUE((*store)->InsertReport(report, clock.Now()).ok());
  auto next = (*store)->NextReport(clock.Now());
  ASSERT_TRUE(next.ok() && next->has_value());
  ReportProcessor processor(config, **store, clock, resolve);
  ASSERT_TRUE(processor.Process(**next).ok());
  RenderingMailer mailer;
  DiscardTelegram telegram;
  OutboxSender sender(config, **store, mailer, telegram, clock);
  sender.Tick();
  ASSERT_EQ(mailer.rendered.size(), 2u);  // ACME's, and the operators' NOT FOUND

  std::vector<std::string> client_values = {report.scan_id(), report.base_scan_id(),
                                            report.inventory(), "Bcc"};
  for (const v1::Exposure& e : report.exposures()) {
    client_values.push_back(e.ip());
    client_values.push_back(e.service());
    client_values.push_back(absl::StrCat(e.port()));
  }
  const std::vector<std::string> allowed_headers = {
      "Date",       "From",           "To",           "Cc",           "Subject",
      "Message-ID", "Auto-Submitted", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"};
  for (const std::string& text : mailer.rendered) {
    const size_t end = text.find("\r\n\r\n");
    ASSERT_NE(end, std::string::npos);
    const std::string headers = text.substr(0, end + 2);
    const std::string body = text.substr(end + 4);
    for (const std::string& v : client_values) {
      EXPECT_FALSE(absl::StrContains(headers, v)) << "'" << v << "' in\n" << headers;
    }
    // The report did reach the body (the check above is not vacuous).
    EXPECT_THAT(body, HasSubstr(report.scan_id()));
    // Only the builder's own header names, each line a header or a fold.
    size_t pos = 0;
    while (pos < headers.size()) {
      const size_t eol = headers.find("\r\n", pos);
      const std::string line = headers.substr(pos, eol - pos);
      pos = eol + 2;
      if (line[0] == ' ' || line[0] == '\t') continue;
      const std::string name = line.substr(0, line.find(':'));
      EXPECT_THAT(allowed_headers, ::testing::Contains(name)) << line;
    }
  }
}

}  // namespace
}  // namespace goalkeeper
