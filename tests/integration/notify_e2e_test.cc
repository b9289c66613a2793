// End to end: coordinator + worker + notifier scan a loopback lab whose
// addresses the local OpenStack/Fleio fakes assign to owners; emails go to a
// real SMTP server (aiosmtpd, STARTTLS + AUTH) and the summary to a fake
// Telegram Bot API. Every gRPC link is mutual TLS (tests/testing/test_certs.h).
// Everything listens on 127.0.0.1; the lab is 127.68.0.0/16.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/grpc_channel.h"
#include "gmock/gmock.h"
#include "goalkeeper/v1/notifier.grpc.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/files.h"
#include "tests/testing/loopback.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_certs.h"

namespace goalkeeper {
namespace {

using ::goalkeeper::testing::OpenPort;
using ::goalkeeper::testing::RunResult;
using ::goalkeeper::testing::Subprocess;
using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr char kSource[] = GOALKEEPER_SOURCE_DIR;
constexpr char kCoordinator[] = GOALKEEPER_COORDINATOR_BIN;
constexpr char kWorker[] = GOALKEEPER_WORKER_BIN;
constexpr char kNotifier[] = GOALKEEPER_NOTIFIER_BIN;
constexpr char kCtl[] = GOALKEEPER_CTL_BIN;

using ::goalkeeper::testing::ReadFile;
using ::goalkeeper::testing::WriteFile;

using ::goalkeeper::testing::WithTls;

// A daemon config's TLS settings (tests/testing/test_certs.h).
std::string TlsYaml(const std::string& name) {
  return ::goalkeeper::testing::TestCerts::Get().DaemonYaml(name);
}

// A fake started with `python3 FAKE args`, waiting for "listening PORT".
struct Fake {
  Fake(const std::string& script, std::vector<std::string> args) {
    args.insert(args.begin(),
                {"/usr/bin/python3", std::string(kSource) + "/tests/fakes/" + script});
    process.emplace(Subprocess::Start(args));
    std::string out = process->ReadStdoutUntil("\n", std::chrono::seconds(20));
    size_t at = out.find("listening ");
    if (at == std::string::npos) throw std::runtime_error(script + " did not start: " + out);
    port = std::stoi(out.substr(at + 10));
  }
  ~Fake() {
    if (process) process->Signal(SIGKILL);
  }
  std::optional<Subprocess> process;
  int port = 0;
};

// A daemon of ours, logging to a file; waits for "<what> listening grpc=".
struct Daemon {
  Daemon(std::vector<std::string> argv, const std::string& log, const std::string& what)
      : log_(log) {
    process.emplace(Subprocess::StartLogged(argv, log));
    const std::string needle = what + " listening grpc=127.0.0.1:";
    for (int i = 0; i < 200; ++i) {
      std::string text = ReadFile(log);
      if (size_t at = text.rfind(needle); at != std::string::npos) {
        port = std::stoi(text.substr(at + needle.size()));
        return;
      }
      if (process->Exited()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error(what + " did not start:\n" + ReadFile(log));
  }
  ~Daemon() {
    if (process) process->Signal(SIGKILL);
  }
  std::string log_;
  std::optional<Subprocess> process;
  int port = 0;
};

class NotifyE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/e2e-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::system(
        ("rm -rf " + dir_ + " && mkdir -p " + dir_ + "/fixtures " + dir_ + "/mail").c_str());
    // The owner-API fixtures, moved from documentation ranges into the lab.
    for (const char* f :
         {"credentials.json", "fleio_clients.json", "fleio_floatingips.json", "fleio_projects.json",
          "keystone_projects.json", "neutron_floatingips.json", "neutron_networks.json",
          "neutron_ports.json", "neutron_routers.json"}) {
      std::string text = ReadFile(std::string(kSource) + "/tests/fixtures/owner_apis/" + f);
      text = absl::StrReplaceAll(text, {{"203.0.113.", "127.68.0."}, {"198.51.100.", "127.68.1."}});
      WriteFile(dir_ + "/fixtures/" + f, text);
    }
    // A self-signed certificate for the SMTP server's STARTTLS.
    ASSERT_EQ(std::system(("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
                           "-addext subjectAltName=IP:127.0.0.1 -keyout " +
                           dir_ + "/key.pem -out " + dir_ + "/cert.pem 2>/dev/null")
                              .c_str()),
              0);
    WriteFile(dir_ + "/smtp.pw", "smtp-secret-pw\n");
    WriteFile(dir_ + "/tg.token", "123456:TEST-TOKEN\n");
    WriteFile(dir_ + "/os.pw", "keystone-fixture-pw\n");
    WriteFile(dir_ + "/fleio.token", "0123456789abcdef0123456789abcdef01234567\n");
    apis_.emplace("owner_apis.py", std::vector<std::string>{"--fixtures", dir_ + "/fixtures"});
    telegram_.emplace(
        "telegram_api.py",
        std::vector<std::string>{"--token", "123456:TEST-TOKEN", "--messages", dir_ + "/tg.jsonl"});
    // The lab: what is open, on port 15432.
    for (const char* ip : {"127.68.0.10", "127.68.0.2",  // Acme (floating IP, router gateway)
                           "127.68.0.20",                // Jane Doe
                           "127.68.1.200",               // Static Corp (owners.static)
                           "127.68.0.30",                // Cobalt: a client without email
                           "127.68.0.50",                // a project Fleio does not know
                           "127.68.0.99"}) {             // nobody's
      listeners_.push_back(OpenPort::Start(ip, 15432));
    }
  }

  void StartSmtp(int port = 0) {
    std::vector<std::string> args = {"--maildir",        dir_ + "/mail",
                                     "--starttls",       "--cert",
                                     dir_ + "/cert.pem", "--key",
                                     dir_ + "/key.pem",  "--require-starttls",
                                     "--auth",           "goalkeeper:smtp-secret-pw"};
    if (port != 0) {
      args.push_back("--port");
      args.push_back(std::to_string(port));
    }
    smtp_.emplace("smtp_server.py", args);
  }

  void StartNotifier(const std::string& mode, int smtp_port) {
    WriteFile(
        dir_ + "/notifier.yaml",
        absl::StrCat(
            "listen: 127.0.0.1:", notifier_port_, "\ndb: ", dir_,
            "/notifier.db\nmetrics_listen: \"\"\n", TlsYaml("notifier"), "mode: ", mode,
            "\nops: {emails: [noc@ops.example], telegram_chat_id: \"-100123\"}\n",
            "email:\n  smtp_url: smtp://127.0.0.1:", smtp_port, "\n  username: goalkeeper\n",
            "  password_file: ", dir_, "/smtp.pw\n  from: goalkeeper@ops.example\n  ca_file: ",
            dir_, "/cert.pem\n", "telegram: {api_url: \"http://127.0.0.1:", telegram_->port,
            "\", token_file: ", dir_, "/tg.token}\n",
            "owners:\n  static:\n    - {cidr: 127.68.1.128/25, name: Static Corp, emails: "
            "[static@corp.example]}\n",
            "  openstack:\n    auth_url: http://127.0.0.1:", apis_->port,
            "\n    username: goalkeeper\n", "    project_name: admin\n    password_file: ", dir_,
            "/os.pw\n    region: RegionOne\n", "  fleio: {url: \"http://127.0.0.1:", apis_->port,
            "\", token_file: ", dir_, "/fleio.token}\n"));
    notifier_.reset();
    notifier_.emplace(std::vector<std::string>{kNotifier, "--config", dir_ + "/notifier.yaml"},
                      dir_ + "/notifier.log", "notifier");
    notifier_port_ = notifier_->port;
  }

  void StartFleet(const std::string& profile =
                      "{ports: \"15432\", timeout_ms: 300, retries: 1}") {
    WriteFile(
        dir_ + "/coordinator.yaml",
        absl::StrCat(
            "listen: 127.0.0.1:0\ndb: ", dir_, "/coordinator.db\nmetrics_listen: \"\"\n",
            TlsYaml("coordinator"),
            "allowed_ranges: [127.68.0.0/16]\ninventories:\n  lab: {targets: [127.68.0.0/23]}\n",
            "profiles:\n  lab: ", profile, "\n",
            "notifier: {address: \"127.0.0.1:", notifier_port_, "\"}\n"));
    coordinator_.emplace(
        std::vector<std::string>{kCoordinator, "--config", dir_ + "/coordinator.yaml"},
        dir_ + "/coordinator.log", "coordinator");
    worker_.emplace(Subprocess::StartLogged(
        WithTls({kWorker, "run", "--coordinator", absl::StrCat("127.0.0.1:", coordinator_->port),
                 "--concurrency", "256", "--metrics-listen", "127.0.0.1:0", "--health-listen",
                 "127.0.0.1:0"},
                "worker"),
        dir_ + "/worker.log"));
  }

  void Scan() {
    RunResult r = ::goalkeeper::testing::Run(
        WithTls({kCtl, "--coordinator", absl::StrCat("127.0.0.1:", coordinator_->port), "scan",
                 "start", "--inventory", "lab", "--profile", "lab", "--wait"},
                "admin"),
        std::chrono::seconds(120));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // Messages the SMTP server stored, once `count` are there (or the deadline).
  std::vector<json> Mail(size_t count, int seconds = 60) {
    std::vector<json> out;
    for (int i = 0; i <= seconds * 10; ++i) {
      out.clear();
      for (int n = 0; n < 1000; ++n) {
        char name[32];
        std::snprintf(name, sizeof(name), "/%04d.json", n);
        std::string text = ReadFile(dir_ + "/mail" + name);
        if (text.empty()) continue;
        out.push_back(json::parse(text));
      }
      if (out.size() >= count || i == seconds * 10) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return out;
  }

  std::vector<json> TelegramMessages(size_t count, int seconds = 30) {
    std::vector<json> out;
    for (int i = 0; i < seconds * 10; ++i) {
      out.clear();
      for (absl::string_view line :
           absl::StrSplit(ReadFile(dir_ + "/tg.jsonl"), '\n', absl::SkipEmpty())) {
        out.push_back(json::parse(line));
      }
      if (out.size() >= count) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return out;
  }

  std::string dir_;
  std::optional<Fake> apis_, telegram_, smtp_;
  std::optional<Daemon> notifier_, coordinator_;
  std::optional<Subprocess> worker_;
  std::vector<std::unique_ptr<OpenPort>> listeners_;
  int notifier_port_ = 0;
};

std::string Rcpts(const json& m) {
  std::set<std::string> r(m["rcpt_tos"].begin(), m["rcpt_tos"].end());
  std::string out;
  for (const std::string& s : r) out += s + ";";
  return out;
}

TEST_F(NotifyE2eTest, EachOwnerGetsExactlyTheirExposuresUnknownGoToOperators) {
  StartSmtp();
  StartNotifier("prod", smtp_->port);
  StartFleet();
  ASSERT_NO_FATAL_FAILURE(Scan());
  std::vector<json> mail = Mail(4);
  ASSERT_EQ(mail.size(), 4u) << ReadFile(dir_ + "/notifier.log");
  std::map<std::string, json> by_rcpts;
  for (const json& m : mail) {
    EXPECT_TRUE(m["tls"].get<bool>());
    EXPECT_EQ(m["auth_user"], "goalkeeper");
    EXPECT_EQ(m["mail_from"], "goalkeeper@ops.example");
    EXPECT_EQ(m["defects"].size(), 0u) << m.dump();
    by_rcpts[Rcpts(m)] = m;
  }
  ASSERT_EQ(by_rcpts.count("abuse@acme.example;noc@ops.example;"), 1u);
  const std::string acme = by_rcpts["abuse@acme.example;noc@ops.example;"]["text"];
  EXPECT_THAT(acme, HasSubstr("127.68.0.10:15432"));
  EXPECT_THAT(acme, HasSubstr("127.68.0.2:15432"));
  EXPECT_THAT(acme, ::testing::Not(HasSubstr("127.68.0.20")));
  const std::string jane = by_rcpts["jane@doe.example;noc@ops.example;"]["text"];
  EXPECT_THAT(jane, HasSubstr("127.68.0.20:15432"));
  EXPECT_THAT(jane, ::testing::Not(HasSubstr("127.68.0.10")));
  const std::string corp = by_rcpts["noc@ops.example;static@corp.example;"]["text"];
  EXPECT_THAT(corp, HasSubstr("127.68.1.200:15432"));
  const json& nf = by_rcpts["noc@ops.example;"];
  EXPECT_THAT(nf["subject"].get<std::string>(), HasSubstr("NOT FOUND"));
  const std::string nf_text = nf["text"];
  EXPECT_THAT(nf_text, HasSubstr("127.68.0.30:15432"));
  EXPECT_THAT(nf_text, HasSubstr("no email"));
  EXPECT_THAT(nf_text, HasSubstr("127.68.0.50:15432"));
  EXPECT_THAT(nf_text, HasSubstr("no client"));
  EXPECT_THAT(nf_text, HasSubstr("127.68.0.99:15432"));
  EXPECT_THAT(nf_text, HasSubstr("no project"));
  std::vector<json> tg = TelegramMessages(1);
  ASSERT_EQ(tg.size(), 1u);
  EXPECT_EQ(tg[0]["chat_id"].dump(), "-100123");
  EXPECT_EQ(tg[0]["parse_mode"], "HTML");
  EXPECT_THAT(tg[0]["text"].get<std::string>(), HasSubstr("7 exposed, 7 new, 0 closed"));
  // Secrets never reach a log.
  for (const char* log : {"/notifier.log", "/coordinator.log", "/worker.log"}) {
    const std::string text = ReadFile(dir_ + log);
    for (const char* secret : {"smtp-secret-pw", "TEST-TOKEN", "keystone-fixture-pw",
                               "0123456789abcdef0123456789abcdef01234567"}) {
      EXPECT_THAT(text, ::testing::Not(HasSubstr(secret))) << log;
    }
  }
}

TEST_F(NotifyE2eTest, StageModeMailsOnlyTheOperators) {
  StartSmtp();
  StartNotifier("stage", smtp_->port);
  StartFleet();
  ASSERT_NO_FATAL_FAILURE(Scan());
  std::vector<json> mail = Mail(4);
  ASSERT_EQ(mail.size(), 4u) << ReadFile(dir_ + "/notifier.log");
  for (const json& m : mail) EXPECT_EQ(Rcpts(m), "noc@ops.example;") << m.dump();
}

TEST_F(NotifyE2eTest, SmtpDownAndNotifierRestartedStillDeliversEveryEmailOnce) {
  Fake down("smtp_server.py", {"--down"});  // a port where nothing listens
  const int smtp_port = down.port;
  StartNotifier("prod", smtp_port);
  StartFleet();
  ASSERT_NO_FATAL_FAILURE(Scan());
  // The report is stored and the emails failed at least once.
  for (int i = 0; i < 200; ++i) {
    if (ReadFile(dir_ + "/notifier.log").find("notification failed") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_THAT(ReadFile(dir_ + "/notifier.log"), HasSubstr("notification failed"));
  notifier_->process->Signal(SIGKILL);  // restarted while the server is down
  notifier_->process->Wait(std::chrono::seconds(10));
  StartNotifier("prod", smtp_port);
  StartSmtp(smtp_port);  // the server comes back
  std::vector<json> mail = Mail(4, 90);
  ASSERT_EQ(mail.size(), 4u) << ReadFile(dir_ + "/notifier.log");
  std::this_thread::sleep_for(std::chrono::seconds(3));
  std::multiset<std::string> rcpts;
  for (const json& m : Mail(4, 0)) rcpts.insert(Rcpts(m));
  EXPECT_EQ(rcpts.size(), 4u) << "exactly once";
  EXPECT_EQ(std::set<std::string>(rcpts.begin(), rcpts.end()).size(), 4u);
}

// A report as the coordinator sends it with protocol probes (issue 12),
// delivered to the real notifier over mutual TLS with the coordinator's
// certificate: the owner's real email says what answered, per service.
TEST_F(NotifyE2eTest, ProbedExposuresAreWordedByWhatAnsweredWithTheServicesAdvice) {
  StartSmtp();
  StartNotifier("prod", smtp_->port);
  namespace v1 = goalkeeper::v1;
  v1::ScanReport r;
  r.set_scan_id("20261201-220000-0a0b0c");
  r.set_inventory("lab");
  r.set_started_unix_ms(absl::ToUnixMillis(absl::Now()) - 60'000);
  r.set_finished_unix_ms(absl::ToUnixMillis(absl::Now()));
  auto add = [&r](uint32_t port, v1::Transport t, const char* service, bool verified) {
    v1::Exposure* e = r.add_exposures();
    e->set_ip("127.68.0.20");  // Jane Doe's
    e->set_port(port);
    e->set_transport(t);
    e->set_service(service);
    e->set_verified(verified);
    e->set_status(v1::NEW);
    e->set_first_seen_unix_ms(r.finished_unix_ms());
    return e->mutable_evidence();
  };
  v1::Evidence* redis = add(6379, v1::TRANSPORT_TCP, "Redis", true);
  redis->set_version("7.0.15");
  redis->set_auth(v1::AUTH_STATE_NOT_REQUIRED);
  add(27017, v1::TRANSPORT_TCP, "MongoDB", false);
  v1::Evidence* dns = add(53, v1::TRANSPORT_UDP, "DNS", true);
  dns->add_facts("recursion=available");
  dns->set_request_bytes(40);
  dns->set_response_bytes(1248);
  dns->set_amplification(31.2);
  ChannelOptions options;
  options.tls = ::goalkeeper::testing::TestCerts::Get().Tls("coordinator");
  auto stub =
      v1::Notifier::NewStub(MakeChannel(absl::StrCat("127.0.0.1:", notifier_->port), options));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  v1::DeliverReportResponse resp;
  grpc::Status s = stub->DeliverReport(&ctx, r, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  std::vector<json> mail = Mail(1);
  ASSERT_EQ(mail.size(), 1u) << ReadFile(dir_ + "/notifier.log");
  EXPECT_EQ(Rcpts(mail[0]), "jane@doe.example;noc@ops.example;");
  const std::string text = mail[0]["text"];
  EXPECT_THAT(text, HasSubstr("Redis (1 service)\n* 127.68.0.20:6379  Redis  (new"));
  EXPECT_THAT(text, HasSubstr("Seen: Redis 7.0.15 answered without a password."));
  EXPECT_THAT(text, HasSubstr("never expose Redis"));
  EXPECT_THAT(text, HasSubstr("Seen: port 27017/tcp is open; we could not confirm which "
                              "service answers."));
  EXPECT_THAT(text, HasSubstr("never expose MongoDB"));
  EXPECT_THAT(text, HasSubstr("DNS (1 service)\n* 127.68.0.20:53/udp  DNS  (new"));
  EXPECT_THAT(text, HasSubstr("Seen: DNS open resolver answered a recursive query (31x "
                              "amplification)."));
  EXPECT_THAT(text, HasSubstr("disable recursion"));
  std::vector<json> tg = TelegramMessages(1);
  ASSERT_EQ(tg.size(), 1u);
  EXPECT_THAT(tg[0]["text"].get<std::string>(), HasSubstr("3 exposed, 3 new, 0 closed"));
}

// Issue 12 from scan to email: the real coordinator and worker probe a real
// redis-server without a password on an unusual port (probes: all identifies
// it) and a Ubiquiti discovery responder over UDP (udp: [ubiquiti]); the
// owner's email says what answered, with the amplification, and the
// findings carry transport, service, verified and evidence through the store.
TEST_F(NotifyE2eTest, AProbedFleetScanMailsWhatAnsweredOverTcpAndUdp) {
  RunResult version = ::goalkeeper::testing::Run({"/usr/bin/redis-server", "--version"});
  ASSERT_EQ(version.exit_code, 0) << version.err;
  const size_t v = version.out.find("v=");
  ASSERT_NE(v, std::string::npos) << version.out;
  const std::string redis_version = version.out.substr(v + 2, version.out.find(' ', v) - v - 2);
  Subprocess redis = Subprocess::StartLogged(
      {"/usr/bin/redis-server", "--bind", "127.68.0.20", "--port", "16379", "--protected-mode",
       "no", "--save", "", "--appendonly", "no", "--dir", dir_},
      dir_ + "/redis.log");
  Subprocess ubiquiti = Subprocess::Start(
      {"/usr/bin/python3", std::string(kSource) + "/tests/probes/responders/udp_responders.py",
       "--bind", "127.68.0.20", "--service", "ubiquiti", "--port", "10001"});
  ASSERT_THAT(ubiquiti.ReadStdoutUntil("\n", std::chrono::seconds(20)), HasSubstr("ready"));
  for (int i = 0; i < 100 && ReadFile(dir_ + "/redis.log").find("Ready to accept") ==
                                 std::string::npos;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  StartSmtp();
  StartNotifier("prod", smtp_->port);
  StartFleet("{ports: \"16379\", timeout_ms: 300, retries: 1, probes: all, udp: [ubiquiti]}");
  ASSERT_NO_FATAL_FAILURE(Scan());
  std::vector<json> mail = Mail(1);
  redis.Signal(SIGKILL);
  ubiquiti.Signal(SIGKILL);
  ASSERT_EQ(mail.size(), 1u) << ReadFile(dir_ + "/notifier.log") << ReadFile(dir_ + "/worker.log");
  EXPECT_EQ(Rcpts(mail[0]), "jane@doe.example;noc@ops.example;");
  const std::string text = mail[0]["text"];
  EXPECT_THAT(text, HasSubstr("* 127.68.0.20:16379  Redis  (new"));
  EXPECT_THAT(text, HasSubstr("Seen: Redis " + redis_version + " answered without a password."))
      << text;
  EXPECT_THAT(text, HasSubstr("* 127.68.0.20:10001/udp  Ubiquiti discovery  (new")) << text;
  EXPECT_THAT(text, HasSubstr("amplification")) << text;
  // The findings, as goalkeeperctl lists them.
  const std::string coordinator = absl::StrCat("127.0.0.1:", coordinator_->port);
  RunResult list = ::goalkeeper::testing::Run(
      WithTls({kCtl, "--coordinator", coordinator, "scan", "list", "--output", "json"}, "admin"));
  ASSERT_EQ(list.exit_code, 0) << list.err;
  const std::string id = json::parse(list.out)["scans"][0]["id"];
  RunResult found = ::goalkeeper::testing::Run(WithTls(
      {kCtl, "--coordinator", coordinator, "scan", "findings", id, "--output", "jsonl"}, "admin"));
  ASSERT_EQ(found.exit_code, 0) << found.err;
  std::map<std::string, json> by_port;
  for (absl::string_view line : absl::StrSplit(found.out, '\n', absl::SkipEmpty())) {
    json f = json::parse(line);
    by_port[absl::StrCat(f["port"].get<int>(), "/", f["transport"].get<std::string>())] = f;
  }
  ASSERT_EQ(by_port.size(), 2u) << found.out;
  EXPECT_EQ(by_port["16379/tcp"]["service"], "Redis");
  EXPECT_EQ(by_port["16379/tcp"]["verified"], true);
  EXPECT_EQ(by_port["16379/tcp"]["evidence"]["version"], redis_version);
  EXPECT_EQ(by_port["16379/tcp"]["evidence"]["auth"], "AUTH_STATE_NOT_REQUIRED");
  EXPECT_EQ(by_port["10001/udp"]["service"], "Ubiquiti discovery");
  EXPECT_EQ(by_port["10001/udp"]["verified"], true);
  EXPECT_GT(by_port["10001/udp"]["evidence"]["amplification"].get<double>(), 1.0);
}

TEST(NotifierCliTest, AddressFlagsOutsideThePortRangeExitTwoNamingThem) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--listen", "127.0.0.1:82606"},
        std::vector<std::string>{"--metrics-listen", "127.0.0.1:-1"},
        std::vector<std::string>{"--listen", "localhost"}}) {
    std::vector<std::string> argv = WithTls({kNotifier}, "notifier");
    argv.insert(argv.end(), args.begin(), args.end());
    RunResult r = ::goalkeeper::testing::Run(argv);
    EXPECT_EQ(r.exit_code, 2) << args[0];
    EXPECT_THAT(r.err,
                ::testing::StartsWith(absl::StrCat("error: ", args[0], ": '", args[1], "': ")))
        << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

}  // namespace
}  // namespace goalkeeper
