// Node findings end to end with real processes on loopback: a test client
// (the generated NodeService stub, standing in for the node agent) reports to
// a real coordinator, which forwards to a real notifier, which mails the
// operators through a real SMTP server (aiosmtpd, STARTTLS + AUTH) and
// summarises on a fake Telegram Bot API. Checked: a brute-force source
// reaches the operators' mailbox exactly once, with its fields; killing (-9)
// the coordinator and the notifier mid-delivery, and a coordinator that lost
// its "delivered" mark, still give exactly one mail; a node that stops
// reporting gives one "agent silent" mail, and its return one "agent back"
// mail; and the real agent (`goalkeeper-worker node`) following a log that
// grows during the test gets its brute-force source to the SMTP server once,
// and stopping and restarting it mails "agent silent" and "agent back".
// Every gRPC link is mutual TLS (tests/testing/test_certs.h). Everything
// listens on 127.0.0.1.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "goalkeeper/v1/node.grpc.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/node/log_files.h"
#include "tests/testing/files.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_certs.h"

namespace goalkeeper {
namespace {

namespace v1 = goalkeeper::v1;
using ::goalkeeper::testing::AppendTo;
using ::goalkeeper::testing::ReadFile;
using ::goalkeeper::testing::Subprocess;
using ::goalkeeper::testing::WriteFile;
using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr char kSource[] = GOALKEEPER_SOURCE_DIR;
constexpr char kCoordinator[] = GOALKEEPER_COORDINATOR_BIN;
constexpr char kNotifier[] = GOALKEEPER_NOTIFIER_BIN;
constexpr char kWorker[] = GOALKEEPER_WORKER_BIN;

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

// A daemon of ours logging to a file (appended across restarts); waits for
// "<what> listening grpc=127.0.0.1:PORT" after its start.
struct Daemon {
  Daemon(std::vector<std::string> argv, const std::string& log, const std::string& what) {
    const size_t before = ReadFile(log).size();
    process.emplace(Subprocess::StartLogged(argv, log));
    const std::string needle = what + " listening grpc=127.0.0.1:";
    for (int i = 0; i < 400; ++i) {
      const std::string text = ReadFile(log).substr(before);
      if (size_t at = text.find(needle); at != std::string::npos) {
        port = std::stoi(text.substr(at + needle.size()));
        return;
      }
      if (process->Exited()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error(what + " did not start:\n" + ReadFile(log));
  }
  ~Daemon() { Kill(); }
  void Kill() {
    if (!process) return;
    process->Signal(SIGKILL);
    process->Wait(std::chrono::seconds(10));
    process.reset();
  }
  std::optional<Subprocess> process;
  int port = 0;
};

class NodeNotifyE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/node-e2e-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::system(("rm -rf " + dir_ + " && mkdir -p " + dir_ + "/mail").c_str());
    ASSERT_EQ(std::system(("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
                           "-addext subjectAltName=IP:127.0.0.1 -keyout " +
                           dir_ + "/key.pem -out " + dir_ + "/cert.pem 2>/dev/null")
                              .c_str()),
              0);
    WriteFile(dir_ + "/smtp.pw", "smtp-secret-pw\n");
    WriteFile(dir_ + "/tg.token", "123456:TEST-TOKEN\n");
    telegram_.emplace(
        "telegram_api.py",
        std::vector<std::string>{"--token", "123456:TEST-TOKEN", "--messages", dir_ + "/tg.jsonl"});
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

  // The first start picks a port; restarts keep it (the coordinator's
  // configuration names it).
  void StartNotifier(int smtp_port, const std::string& mode = "prod") {
    WriteFile(
        dir_ + "/notifier.yaml",
        absl::StrCat("listen: 127.0.0.1:", notifier_port_, "\ndb: ", dir_,
                     "/notifier.db\nmetrics_listen: \"\"\n",
                     ::goalkeeper::testing::TestCerts::Get().DaemonYaml("notifier"), "mode: ", mode,
                     "\nops: {emails: [noc@ops.example], telegram_chat_id: \"-100123\"}\n",
                     "email:\n  smtp_url: smtp://127.0.0.1:", smtp_port,
                     "\n  username: goalkeeper\n  password_file: ", dir_,
                     "/smtp.pw\n  from: goalkeeper@ops.example\n  ca_file: ", dir_, "/cert.pem\n",
                     "telegram: {api_url: \"http://127.0.0.1:", telegram_->port,
                     "\", token_file: ", dir_, "/tg.token}\n"));
    notifier_.reset();
    notifier_.emplace(std::vector<std::string>{kNotifier, "--config", dir_ + "/notifier.yaml"},
                      dir_ + "/notifier.log", "notifier");
    notifier_port_ = notifier_->port;
  }

  void StartCoordinator(int silence_after_intervals = 3) {
    WriteFile(
        dir_ + "/coordinator.yaml",
        absl::StrCat("listen: 127.0.0.1:0\ndb: ", dir_, "/coordinator.db\nmetrics_listen: \"\"\n",
                     ::goalkeeper::testing::TestCerts::Get().DaemonYaml("coordinator"),
                     "nodes: {silence_after_intervals: ", silence_after_intervals, "}\n",
                     "notifier: {address: \"127.0.0.1:", notifier_port_, "\"}\n"));
    coordinator_.reset();
    coordinator_.emplace(
        std::vector<std::string>{kCoordinator, "--config", dir_ + "/coordinator.yaml"},
        dir_ + "/coordinator.log", "coordinator");
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", coordinator_->port),
                                   grpc::InsecureChannelCredentials());
  }

  // What the node agent would send: a heartbeat and its findings.
  void Report(const v1::NodeReport& r) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::NodeReportAck ack;
    grpc::Status s = v1::NodeService::NewStub(channel_)->ReportNode(&ctx, r, &ack);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(ack.stored_ids_size(), r.findings_size());
  }

  uint64_t OpenFindings(const std::string& node) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::ListNodesResponse resp;
    grpc::Status s = v1::NodeService::NewStub(channel_)->ListNodes(&ctx, {}, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    for (const v1::NodeInfo& n : resp.nodes()) {
      if (n.name() == node) return n.open_findings();
    }
    return 999;
  }

  // Waits until `file` contains `needle` `times` times (after `from`).
  bool WaitForLog(const std::string& file, const std::string& needle, int seconds = 30,
                  size_t times = 1) {
    for (int i = 0; i < seconds * 10; ++i) {
      const std::string text = ReadFile(dir_ + "/" + file);
      size_t n = 0;
      for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
        ++n;
      }
      if (n >= times) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  // Messages the SMTP server stored, once `count` are there (or the deadline).
  std::vector<json> Mail(size_t count, int seconds = 60) {
    std::vector<json> out;
    for (int i = 0; i <= seconds * 10; ++i) {
      out.clear();
      for (int n = 0; n < 100; ++n) {
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
    for (int i = 0; i <= seconds * 10; ++i) {
      out.clear();
      for (absl::string_view line :
           absl::StrSplit(ReadFile(dir_ + "/tg.jsonl"), '\n', absl::SkipEmpty())) {
        out.push_back(json::parse(line));
      }
      if (out.size() >= count || i == seconds * 10) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return out;
  }

  std::string Logs() {
    return absl::StrCat("--- notifier.log\n", ReadFile(dir_ + "/notifier.log"),
                        "--- coordinator.log\n", ReadFile(dir_ + "/coordinator.log"));
  }

  static v1::NodeReport BruteForceReport(const std::string& node, uint32_t heartbeat = 3600) {
    v1::NodeReport r;
    r.set_node(node);
    r.set_agent_version("e2e");
    r.set_heartbeat_seconds(heartbeat);
    v1::NodeFinding* f = r.add_findings();
    f->set_id("tftp-192.0.2.66-1");
    f->set_observed_unix_ms(1'800'000'000'000);
    v1::BruteForceSource* b = f->mutable_brute_force();
    b->set_rule("tftp");
    b->set_source("192.0.2.66");
    b->set_hits_in_window(37);
    b->set_first_seen_unix_ms(1'799'999'880'000);  // 2027-01-15T07:58:00Z
    b->set_last_seen_unix_ms(1'799'999'990'000);   // 2027-01-15T07:59:50Z
    v1::ProtoPort* p = b->add_ports();
    p->set_protocol("udp");
    p->set_port(69);
    v1::NodeFinding* l = r.add_findings();
    l->set_id("listen-tcp-6379-1");
    l->mutable_listener_appeared()->set_protocol("tcp");
    l->mutable_listener_appeared()->set_address("0.0.0.0");
    l->mutable_listener_appeared()->set_port(6379);
    return r;
  }

  static void ExpectBruteForceMail(const json& m) {
    EXPECT_TRUE(m["tls"].get<bool>());
    EXPECT_EQ(m["rcpt_tos"], json::array({"noc@ops.example"}));
    EXPECT_EQ(m["defects"].size(), 0u) << m.dump();
    EXPECT_EQ(m["subject"], "Goalkeeper node node-e2e: 1 brute-force source, 1 listener appeared");
    const std::string text = m["text"];
    for (const char* field :
         {"Brute-force source 192.0.2.66 (rule tftp)", "Node: node-e2e", "Rule: tftp",
          "Source: 192.0.2.66", "Hits in window: 37", "First seen: 2027-01-15T07:58:00Z",
          "Last seen: 2027-01-15T07:59:50Z", "Ports and protocols: udp/69",
          "What to do: block the source 192.0.2.66", "Listener appeared: tcp 0.0.0.0 port 6379"}) {
      EXPECT_THAT(text, HasSubstr(field));
    }
  }

  std::string dir_;
  std::optional<Fake> telegram_, smtp_;
  std::optional<Daemon> notifier_, coordinator_;
  std::shared_ptr<grpc::Channel> channel_;
  int notifier_port_ = 0;
};

TEST_F(NodeNotifyE2eTest, ABruteForceSourceReachesTheOperatorsMailboxExactlyOnce) {
  StartSmtp();
  StartNotifier(smtp_->port);
  StartCoordinator();
  ASSERT_NO_FATAL_FAILURE(Report(BruteForceReport("node-e2e")));
  std::vector<json> mail = Mail(1);
  ASSERT_EQ(mail.size(), 1u) << Logs();
  ExpectBruteForceMail(mail[0]);
  std::vector<json> tg = TelegramMessages(1);
  ASSERT_EQ(tg.size(), 1u) << Logs();
  EXPECT_EQ(tg[0]["chat_id"].dump(), "-100123");
  EXPECT_THAT(tg[0]["text"].get<std::string>(),
              HasSubstr("node-e2e: 1 brute-force source, 1 listener appeared"));
  // Delivered: nothing open on the coordinator, and no second mail.
  for (int i = 0; i < 100 && OpenFindings("node-e2e") != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(OpenFindings("node-e2e"), 0u);
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(Mail(1, 0).size(), 1u) << Logs();
  EXPECT_EQ(TelegramMessages(1, 0).size(), 1u);
}

TEST_F(NodeNotifyE2eTest, KillingTheCoordinatorAndTheNotifierMidDeliveryStillMailsOnce) {
  Fake down("smtp_server.py", {"--down"});  // nothing listens there yet
  const int smtp_port = down.port;
  StartNotifier(smtp_port);
  notifier_->Kill();  // the notifier is down: its port is known
  StartCoordinator();
  ASSERT_NO_FATAL_FAILURE(Report(BruteForceReport("node-e2e")));
  ASSERT_TRUE(WaitForLog("coordinator.log", "node findings delivery failed")) << Logs();
  // The coordinator dies while retrying; its file now holds the findings
  // undelivered (kept aside: a coordinator that will lose its mark later).
  coordinator_->Kill();
  ASSERT_EQ(std::system(("mkdir -p " + dir_ + "/undelivered && cp " + dir_ + "/coordinator.db* " +
                         dir_ + "/undelivered/")
                            .c_str()),
            0);
  StartCoordinator();
  StartNotifier(smtp_port);
  ASSERT_TRUE(WaitForLog("notifier.log", "node findings received count=2 stored=2")) << Logs();
  for (int i = 0; i < 100 && OpenFindings("node-e2e") != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(OpenFindings("node-e2e"), 0u);
  // SMTP is down: the mail waits in the outbox; both die now.
  ASSERT_TRUE(WaitForLog("notifier.log", "notification failed key=email:node:node-e2e:")) << Logs();
  notifier_->Kill();
  coordinator_->Kill();
  // The coordinator comes back without its "delivered" mark (as if killed
  // between the notifier's acknowledgement and its commit): it sends again.
  ASSERT_EQ(std::system(("rm -f " + dir_ + "/coordinator.db* && cp " + dir_ +
                         "/undelivered/coordinator.db* " + dir_ + "/")
                            .c_str()),
            0);
  StartCoordinator();
  EXPECT_EQ(OpenFindings("node-e2e"), 2u);
  StartNotifier(smtp_port);
  ASSERT_TRUE(WaitForLog("notifier.log", "stored=0 duplicates=2")) << Logs();
  for (int i = 0; i < 100 && OpenFindings("node-e2e") != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(OpenFindings("node-e2e"), 0u);
  StartSmtp(smtp_port);  // the server comes back
  std::vector<json> mail = Mail(1, 90);
  ASSERT_EQ(mail.size(), 1u) << Logs();
  ExpectBruteForceMail(mail[0]);
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(Mail(1, 0).size(), 1u) << "exactly once\n" << Logs();
}

TEST_F(NodeNotifyE2eTest, ASilentNodeMailsAgentSilentAndItsReturnAgentBack) {
  StartSmtp();
  StartNotifier(smtp_->port);
  StartCoordinator(/*silence_after_intervals=*/2);
  v1::NodeReport heartbeat;
  heartbeat.set_node("node-quiet");
  heartbeat.set_agent_version("e2e");
  heartbeat.set_heartbeat_seconds(1);
  ASSERT_NO_FATAL_FAILURE(Report(heartbeat));
  // No report for 2 intervals of 1 s: silent.
  std::vector<json> mail = Mail(1);
  ASSERT_EQ(mail.size(), 1u) << Logs();
  EXPECT_EQ(mail[0]["rcpt_tos"], json::array({"noc@ops.example"}));
  EXPECT_EQ(mail[0]["subject"], "Goalkeeper node node-quiet: agent silent");
  const std::string silent = mail[0]["text"];
  EXPECT_THAT(silent, HasSubstr("* Node agent silent"));
  EXPECT_THAT(silent, HasSubstr("Node: node-quiet"));
  EXPECT_THAT(silent, HasSubstr("Last report: 20"));
  EXPECT_THAT(silent, HasSubstr("Silent since: 20"));
  EXPECT_THAT(silent, HasSubstr("are not running"));
  // It reports again: one "agent back" mail.
  ASSERT_NO_FATAL_FAILURE(Report(heartbeat));
  heartbeat.set_heartbeat_seconds(3600);  // and stays in touch
  ASSERT_NO_FATAL_FAILURE(Report(heartbeat));
  mail = Mail(2);
  ASSERT_EQ(mail.size(), 2u) << Logs();
  std::set<std::string> subjects;
  for (const json& m : mail) subjects.insert(m["subject"].get<std::string>());
  ASSERT_EQ(subjects.count("Goalkeeper node node-quiet: agent back"), 1u) << Logs();
  for (const json& m : mail) {
    if (m["subject"] != "Goalkeeper node node-quiet: agent back") continue;
    EXPECT_THAT(m["text"].get<std::string>(), HasSubstr("Back since: 20"));
  }
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(Mail(2, 0).size(), 2u) << Logs();
}

// A kernel firewall line stamped now (RFC 3339, UTC), as iptables' LOG
// target writes it.
std::string FirewallLine(const std::string& src, int id) {
  return absl::StrCat(
      absl::FormatTime("%Y-%m-%dT%H:%M:%E6S+00:00", absl::Now(), absl::UTCTimeZone()),
      " node-1 kernel: [81234.567890] IPTables-TFTP-Rejected: IN=eth0 OUT= SRC=", src,
      " DST=198.51.100.1 LEN=45 TOS=0x00 PREC=0x00 TTL=64 ID=", id,
      " PROTO=UDP SPT=40000 DPT=69 LEN=25\n");
}

TEST_F(NodeNotifyE2eTest, TheRealAgentOnAGrowingLogMailsItsSourceOnceThenItsSilenceAndReturn) {
  StartSmtp();
  StartNotifier(smtp_->port);
  StartCoordinator();
  const std::string log = dir_ + "/log/kern.log";
  ASSERT_EQ(
      std::system(("mkdir -p " + dir_ + "/log " + dir_ + "/proc/net " + dir_ + "/ckpt").c_str()),
      0);
  AppendTo(log, "");
  const std::string header =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
      "timeout inode\n";
  WriteFile(dir_ + "/proc/net/tcp", header);
  WriteFile(dir_ + "/proc/net/tcp6", header);
  WriteFile(dir_ + "/node.yaml",
            absl::StrCat("checkpoint_dir: ", dir_, "/ckpt\nheartbeat_interval: 1s\n",
                         "rules:\n  - name: tftp\n    sources: [", log, "]\n",
                         "    prefix: \"IPTables-TFTP-Rejected: \"\n    proto: udp\n",
                         "    ports: [69]\n    window: 1h\n    threshold: 5\n    quiet: 7d\n",
                         "listeners:\n  interval: 1s\n"));
  Subprocess agent = Subprocess::StartLogged(
      ::goalkeeper::testing::WithTls(
          {kWorker, "node", "--coordinator", absl::StrCat("127.0.0.1:", coordinator_->port),
           "--config", dir_ + "/node.yaml", "--node-name", "node-agent-e2e", "--proc-root",
           dir_ + "/proc"},
          "node-agent"),
      dir_ + "/agent.log");
  // The log grows while the agent follows it: three hits, then more later.
  AppendTo(log, FirewallLine("192.0.2.77", 1) + FirewallLine("198.51.100.9", 2) +
                    FirewallLine("192.0.2.77", 3) + FirewallLine("192.0.2.77", 4));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_TRUE(Mail(1, 0).empty()) << "under the threshold";
  for (int i = 5; i < 9; ++i) {
    AppendTo(log, FirewallLine("192.0.2.77", i));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::vector<json> mail = Mail(1);
  ASSERT_EQ(mail.size(), 1u) << Logs() << "--- agent.log\n" << ReadFile(dir_ + "/agent.log");
  EXPECT_EQ(mail[0]["rcpt_tos"], json::array({"noc@ops.example"}));
  EXPECT_EQ(mail[0]["subject"], "Goalkeeper node node-agent-e2e: 1 brute-force source");
  const std::string text = mail[0]["text"];
  for (const char* field :
       {"Brute-force source 192.0.2.77 (rule tftp)", "Node: node-agent-e2e", "Rule: tftp",
        "Source: 192.0.2.77", "Ports and protocols: udp/69", "First seen: 20", "Last seen: 20",
        "What to do: block the source 192.0.2.77"}) {
    EXPECT_THAT(text, HasSubstr(field));
  }
  EXPECT_THAT(text, ::testing::ContainsRegex("Hits in window: ([5-9]|[1-9][0-9]+)\n"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("198.51.100.9")));
  // More hits from the same source within `quiet`: no second mail.
  for (int i = 9; i < 15; ++i) AppendTo(log, FirewallLine("192.0.2.77", i));
  std::this_thread::sleep_for(std::chrono::seconds(4));
  EXPECT_EQ(Mail(1, 0).size(), 1u) << Logs();
  // The agent stops: "agent silent" (3 heartbeats of 1 s missed); it starts
  // again from its checkpoint: "agent back", and its source is not re-sent.
  agent.Signal(SIGTERM);
  EXPECT_EQ(agent.Wait(std::chrono::seconds(20)).exit_code, 0);
  mail = Mail(2);
  ASSERT_EQ(mail.size(), 2u) << Logs();
  EXPECT_EQ(mail[1]["subject"], "Goalkeeper node node-agent-e2e: agent silent");
  EXPECT_THAT(mail[1]["text"].get<std::string>(), HasSubstr("are not running"));
  Subprocess again = Subprocess::StartLogged(
      ::goalkeeper::testing::WithTls(
          {kWorker, "node", "--coordinator", absl::StrCat("127.0.0.1:", coordinator_->port),
           "--config", dir_ + "/node.yaml", "--node-name", "node-agent-e2e", "--proc-root",
           dir_ + "/proc"},
          "node-agent"),
      dir_ + "/agent.log");
  mail = Mail(3);
  ASSERT_EQ(mail.size(), 3u) << Logs();
  EXPECT_EQ(mail[2]["subject"], "Goalkeeper node node-agent-e2e: agent back");
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(Mail(3, 0).size(), 3u) << Logs();
  again.Signal(SIGTERM);
  EXPECT_EQ(again.Wait(std::chrono::seconds(20)).exit_code, 0);
}

}  // namespace
}  // namespace goalkeeper
