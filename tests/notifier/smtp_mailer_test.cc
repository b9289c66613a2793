// SmtpMailer against a real SMTP server (tests/fakes/smtp_server.py,
// aiosmtpd) on 127.0.0.1: plain, STARTTLS, implicit TLS, AUTH, rejections.
#include "notifier/smtp_mailer.h"

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "notifier/email_render.h"
#include "tests/notifier/email_testing.h"
#include "tests/testing/loopback.h"

namespace goalkeeper::email_testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// A self-signed CA and a server certificate for 127.0.0.1, made once.
struct Pki {
  std::string ca;
  std::string cert;
  std::string key;
};

class SmtpMailerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_dir_ = new TempDir();
    const TempDir& d = *pki_dir_;
    {
      std::ofstream ext(d / "ext.cnf");
      ext << "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n";
    }
    std::vector<std::vector<std::string>> cmds = {
        {kOpenssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", d / "ca.key", "-out", d / "ca.pem", "-days", "2", "-subj",
         "/CN=Goalkeeper Test CA"},
        {kOpenssl, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", d / "server.key", "-out", d / "server.csr", "-subj", "/CN=localhost"},
        {kOpenssl, "x509", "-req", "-in", d / "server.csr", "-CA", d / "ca.pem", "-CAkey",
         d / "ca.key", "-CAcreateserial", "-out", d / "server.pem", "-days", "2", "-extfile",
         d / "ext.cnf"},
    };
    for (const auto& cmd : cmds) {
      testing::RunResult r = testing::Run(cmd, std::chrono::seconds(60));
      ASSERT_EQ(r.exit_code, 0) << cmd[1] << ": " << r.err;
    }
    pki_ = {d / "ca.pem", d / "server.pem", d / "server.key"};
  }
  static void TearDownTestSuite() {
    delete pki_dir_;
    pki_dir_ = nullptr;
  }

  // Starts smtp_server.py with --maildir plus `args`.
  Fake StartSmtp(std::vector<std::string> args) {
    args.insert(args.begin(), {"--maildir", maildir()});
    return StartFake(FakePath("smtp_server.py"), std::move(args), dir_ / "smtp.log");
  }
  std::vector<std::string> TlsArgs() const {
    return {"--starttls", "--cert", pki_.cert, "--key", pki_.key};
  }
  std::string maildir() const { return dir_ / "maildir"; }
  std::vector<nlohmann::json> Stored() const {
    std::vector<nlohmann::json> out;
    for (const std::string& f : Files(maildir(), ".json")) {
      out.push_back(nlohmann::json::parse(ReadFile(f)));
    }
    return out;
  }
  std::string StoredRaw(size_t i) const { return ReadFile(Files(maildir(), ".eml").at(i)); }
  static SmtpConfig Plain(int port) {
    SmtpConfig c;
    c.url = absl::StrCat("smtp://127.0.0.1:", port);
    c.require_starttls = false;
    c.timeout = absl::Seconds(20);
    return c;
  }
  static SmtpConfig Tls(int port) {
    SmtpConfig c = Plain(port);
    c.require_starttls = true;
    c.ca_file = pki_.ca;
    c.username = "alice";
    c.password = "correct-horse-battery";
    return c;
  }

  TempDir dir_;
  static TempDir* pki_dir_;
  static Pki pki_;
};

TempDir* SmtpMailerTest::pki_dir_ = nullptr;
Pki SmtpMailerTest::pki_;

TEST_F(SmtpMailerTest, DeliversOverPlainSmtp) {
  Fake smtp = StartSmtp({});
  ASSERT_GT(smtp.port, 0);
  EmailMessage m = Sample();
  m.subject = "Открытые порты: 3 — €";
  std::string long_line(2000, 'L');
  m.text_body = absl::StrCat("Hello,\n", long_line, "\n.a line starting with a dot\n", "Grüße ✓\n");
  ASSERT_TRUE(MakeSmtpMailer(Plain(smtp.port))->Send(m).ok());

  std::vector<nlohmann::json> stored = Stored();
  ASSERT_EQ(stored.size(), 1u);
  const nlohmann::json& s = stored[0];
  EXPECT_EQ(s["mail_from"], "goalkeeper@example.net");
  EXPECT_THAT(s["rcpt_tos"].get<std::vector<std::string>>(),
              ElementsAre("owner@example.com", "second@example.com", "ops@example.net"));
  EXPECT_EQ(s["subject"], m.subject);
  EXPECT_EQ(s["message_id"], "<report-1@goalkeeper>");
  EXPECT_EQ(s["date"], "Sun, 22 Nov 2026 06:00:00 +0000");
  EXPECT_EQ(s["to"], "owner@example.com, second@example.com");
  EXPECT_EQ(s["cc"], "ops@example.net");
  EXPECT_EQ(s["text"], m.text_body);
  EXPECT_EQ(s["tls"], false);
  EXPECT_TRUE(s["defects"].empty()) << s.dump();

  std::string raw = StoredRaw(0);
  ExpectCrlfOnly(raw);
  EXPECT_THAT(raw, HasSubstr("\r\nMIME-Version: 1.0\r\n"));
  EXPECT_THAT(raw, HasSubstr("\r\nSubject: =?UTF-8?B?"));
  EXPECT_LE(LongestLine(raw), 998u);
}

TEST_F(SmtpMailerTest, GeneratedMessageIdReachesTheServer) {
  Fake smtp = StartSmtp({});
  EmailMessage m = Sample();
  m.message_id.clear();
  ASSERT_TRUE(MakeSmtpMailer(Plain(smtp.port))->Send(m).ok());
  std::vector<nlohmann::json> stored = Stored();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_TRUE(IsGeneratedId(stored[0]["message_id"].get<std::string>()));
}

TEST_F(SmtpMailerTest, HtmlAlternativeArrivesIntact) {
  Fake smtp = StartSmtp({});
  EmailMessage m = Sample();
  m.html_body = "<html><body><p>Port <b>22</b> is open.</p></body></html>\n";
  ASSERT_TRUE(MakeSmtpMailer(Plain(smtp.port))->Send(m).ok());
  std::vector<nlohmann::json> stored = Stored();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0]["content_type"], "multipart/alternative");
  EXPECT_EQ(stored[0]["text"], m.text_body);
  EXPECT_EQ(stored[0]["html"], m.html_body);
}

TEST_F(SmtpMailerTest, StartTlsWithAuthSucceeds) {
  std::vector<std::string> args = TlsArgs();
  args.insert(args.end(), {"--require-starttls", "--auth", "alice:correct-horse-battery"});
  Fake smtp = StartSmtp(args);
  absl::Status s = MakeSmtpMailer(Tls(smtp.port))->Send(Sample());
  ASSERT_TRUE(s.ok()) << s << "\n" << ReadFile(dir_ / "smtp.log");
  std::vector<nlohmann::json> stored = Stored();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0]["tls"], true);
  EXPECT_EQ(stored[0]["auth_user"], "alice");
}

TEST_F(SmtpMailerTest, WrongPasswordIsPermissionDeniedWithoutThePassword) {
  std::vector<std::string> args = TlsArgs();
  args.insert(args.end(), {"--require-starttls", "--auth", "alice:correct-horse-battery"});
  Fake smtp = StartSmtp(args);
  SmtpConfig c = Tls(smtp.port);
  c.password = "wrong-password-1234";
  absl::Status s = MakeSmtpMailer(c)->Send(Sample());
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  EXPECT_THAT(s.message(), Not(HasSubstr("wrong-password-1234")));
  EXPECT_THAT(s.message(), Not(HasSubstr("correct-horse")));
  EXPECT_THAT(s.message(), HasSubstr("alice"));
  EXPECT_THAT(s.message(), HasSubstr("535"));
  EXPECT_TRUE(Stored().empty());
}

TEST_F(SmtpMailerTest, RefusesPlainTextWhenServerOffersNoStartTls) {
  Fake smtp = StartSmtp({"--auth", "alice:correct-horse-battery"});
  SmtpConfig c = Tls(smtp.port);  // require_starttls = true
  absl::Status s = MakeSmtpMailer(c)->Send(Sample());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(s.message(), HasSubstr("STARTTLS"));
  EXPECT_THAT(s.message(), Not(HasSubstr(c.password)));
  EXPECT_TRUE(Stored().empty());
}

TEST_F(SmtpMailerTest, UntrustedCertificateIsRefused) {
  std::vector<std::string> args = TlsArgs();
  args.push_back("--require-starttls");
  Fake smtp = StartSmtp(args);
  SmtpConfig c = Tls(smtp.port);
  c.ca_file = "/etc/ssl/certs/ca-certificates.crt";  // the system store does not know our CA
  c.username.clear();
  absl::Status s = MakeSmtpMailer(c)->Send(Sample());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_TRUE(Stored().empty());
}

TEST_F(SmtpMailerTest, ServerRequiringStartTlsRefusesAPlainClient) {
  std::vector<std::string> args = TlsArgs();
  args.push_back("--require-starttls");
  Fake smtp = StartSmtp(args);
  absl::Status s = MakeSmtpMailer(Plain(smtp.port))->Send(Sample());
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  EXPECT_THAT(s.message(), HasSubstr("530"));
  EXPECT_TRUE(Stored().empty());
}

TEST_F(SmtpMailerTest, RejectedRecipientDoesNotStopTheOthers) {
  Fake smtp = StartSmtp({"--reject-rcpt", "second@example.com"});
  absl::Status s = MakeSmtpMailer(Plain(smtp.port))->Send(Sample());
  ASSERT_TRUE(s.ok()) << s;
  std::vector<nlohmann::json> stored = Stored();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_THAT(stored[0]["rcpt_tos"].get<std::vector<std::string>>(),
              ElementsAre("owner@example.com", "ops@example.net"));
}

TEST_F(SmtpMailerTest, EveryRecipientRejectedIsInvalidArgument) {
  Fake smtp = StartSmtp({"--reject-rcpt", "owner@example.com"});
  EmailMessage m = Sample();
  m.to = {"owner@example.com"};
  m.cc.clear();
  absl::Status s = MakeSmtpMailer(Plain(smtp.port))->Send(m);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(s.message(), HasSubstr("every recipient was rejected"));
  EXPECT_THAT(s.message(), HasSubstr("550 5.1.1 <owner@example.com>"));
  EXPECT_TRUE(Stored().empty());
}

TEST_F(SmtpMailerTest, EveryRecipientRejectedButOneOnlyForNowIsUnavailable) {
  Fake smtp =
      StartSmtp({"--tempfail-rcpt", "owner@example.com", "--reject-rcpt", "second@example.com"});
  EmailMessage m = Sample();
  m.cc.clear();
  absl::Status s = MakeSmtpMailer(Plain(smtp.port))->Send(m);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_TRUE(Stored().empty());
}

TEST_F(SmtpMailerTest, TemporarilyRejectedRecipientIsUnavailable) {
  Fake smtp = StartSmtp({"--tempfail-rcpt", "owner@example.com"});
  EmailMessage m = Sample();
  m.to = {"owner@example.com"};
  m.cc.clear();
  absl::Status s = MakeSmtpMailer(Plain(smtp.port))->Send(m);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_THAT(s.message(), HasSubstr("450"));
}

TEST_F(SmtpMailerTest, ServerDownIsUnavailable) {
  ClosedPort closed("127.0.0.1");
  absl::Status s = MakeSmtpMailer(Plain(closed.port()))->Send(Sample());
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_THAT(s.message(), HasSubstr(absl::StrCat("127.0.0.1:", closed.port())));
}

TEST_F(SmtpMailerTest, DownFlagLeavesNothingListening) {
  Fake smtp = StartSmtp({"--down"});
  ASSERT_GT(smtp.port, 0);
  absl::Status s = MakeSmtpMailer(Plain(smtp.port))->Send(Sample());
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
}

TEST_F(SmtpMailerTest, Greeting421IsUnavailableAndALaterTrySucceeds) {
  Fake smtp = StartSmtp({"--fail-first", "1"});
  std::unique_ptr<Mailer> mailer = MakeSmtpMailer(Plain(smtp.port));
  absl::Status first = mailer->Send(Sample());
  EXPECT_EQ(first.code(), absl::StatusCode::kUnavailable) << first;
  EXPECT_THAT(first.message(), HasSubstr("421"));
  EXPECT_TRUE(mailer->Send(Sample()).ok());
  EXPECT_EQ(Stored().size(), 1u);
}

TEST_F(SmtpMailerTest, SilentServerTimesOutAsUnavailable) {
  Fake smtp = StartSmtp({"--hang"});
  SmtpConfig c = Plain(smtp.port);
  c.timeout = absl::Seconds(1);
  auto start = std::chrono::steady_clock::now();
  absl::Status s = MakeSmtpMailer(c)->Send(Sample());
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST_F(SmtpMailerTest, ImplicitTlsSmtps) {
  Fake smtp = StartSmtp({"--implicit-tls", "--cert", pki_.cert, "--key", pki_.key, "--auth",
                         "alice:correct-horse-battery"});
  SmtpConfig c = Tls(smtp.port);
  c.url = absl::StrCat("smtps://127.0.0.1:", smtp.port);
  absl::Status s = MakeSmtpMailer(c)->Send(Sample());
  ASSERT_TRUE(s.ok()) << s << "\n" << ReadFile(dir_ / "smtp.log");
  std::vector<nlohmann::json> stored = Stored();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0]["tls"], true);
  EXPECT_EQ(stored[0]["auth_user"], "alice");
}

TEST_F(SmtpMailerTest, RejectsAddressesThatCouldInjectCommands) {
  Fake smtp = StartSmtp({});
  std::unique_ptr<Mailer> mailer = MakeSmtpMailer(Plain(smtp.port));
  EmailMessage m = Sample();
  m.to = {"owner@example.com>\r\nRCPT TO:<victim@example.org"};
  EXPECT_EQ(mailer->Send(m).code(), absl::StatusCode::kInvalidArgument);
  m = Sample();
  m.from = "not an address";
  EXPECT_EQ(mailer->Send(m).code(), absl::StatusCode::kInvalidArgument);
  m = Sample();
  m.to.clear();
  m.cc.clear();
  EXPECT_EQ(mailer->Send(m).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Stored().empty());
}

TEST_F(SmtpMailerTest, RefusesOtherUrlSchemes) {
  SmtpConfig c = Plain(25);
  c.url = "http://127.0.0.1:1/";
  EXPECT_EQ(MakeSmtpMailer(c)->Send(Sample()).code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace goalkeeper::email_testing
