// The TCP probes against real-shaped answers: the right service, version and
// auth; truncated, garbage, oversized and one-byte-at-a-time answers give
// verified=false or the same result; eof always ends the session.
#include "probes/tcp/tcp_probes.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "probes/evidence.h"
#include "probes/tcp_probe.h"

namespace goalkeeper::probes {
namespace {

// Feeds `answer` in chunks of `chunk` bytes (0 = whole), then eof.
Evidence Talk(const TcpProbe* p, absl::string_view answer, size_t chunk = 0) {
  EXPECT_NE(p, nullptr);
  if (p == nullptr) return {};
  std::unique_ptr<TcpSession> s = p->Open();
  (void)s->Start();
  Evidence ev;
  if (chunk == 0) chunk = answer.size() + 1;
  for (size_t i = 0; i < answer.size(); i += chunk) {
    TcpStep step = s->OnData(answer.substr(i, chunk), false, &ev);
    if (step.kind == TcpStep::Kind::kDone) return ev;
  }
  TcpStep last = s->OnData("", true, &ev);
  EXPECT_EQ(last.kind, TcpStep::Kind::kDone);
  return ev;
}

Evidence Talk(absl::string_view probe, absl::string_view answer, size_t chunk = 0) {
  EXPECT_NE(TcpProbeByName(probe), nullptr) << probe;
  return Talk(TcpProbeByName(probe), answer, chunk);
}

// Every robustness variant of `answer` for `probe`: the same or unverified.
void ExpectRobust(absl::string_view probe, absl::string_view answer) {
  const Evidence whole = Talk(probe, answer);
  const Evidence bytewise = Talk(probe, answer, 1);
  EXPECT_EQ(bytewise, whole) << probe << " one byte at a time";
  for (size_t cut : {size_t{1}, answer.size() / 3, answer.size() / 2, answer.size() - 1}) {
    const Evidence t = Talk(probe, answer.substr(0, cut));
    if (t.verified) {
      EXPECT_EQ(t.service, whole.service) << probe << " cut at " << cut;
    }
  }
  EXPECT_FALSE(Talk(probe, std::string(kMaxResponse * 2, 'x')).verified) << probe;
  EXPECT_FALSE(Talk(probe, std::string("\x00\x01\x02garbage\r\n\r\n", 15)).verified) << probe;
  // Oversized: the real answer followed by far more than kMaxResponse.
  Talk(probe, absl::StrCat(answer, std::string(kMaxResponse * 2, 'z')));
}

TEST(TcpProbesTest, EofWithNothingIsDoneAndUnverified) {
  for (const TcpProbe* p : IdentificationOrder()) {
    std::unique_ptr<TcpSession> s = p->Open();
    (void)s->Start();
    Evidence ev;
    EXPECT_EQ(s->OnData("", true, &ev).kind, TcpStep::Kind::kDone) << p->name();
    EXPECT_FALSE(ev.verified) << p->name();
    // After kDone every call is kDone.
    EXPECT_EQ(s->OnData("more", false, &ev).kind, TcpStep::Kind::kDone) << p->name();
  }
}

TEST(TcpProbesTest, RegistryMapsPortsAndNames) {
  ASSERT_NE(TcpProbeForPort(6379), nullptr);
  EXPECT_EQ(TcpProbeForPort(6379)->name(), "redis");
  EXPECT_EQ(TcpProbeForPort(11211)->name(), "memcached");
  EXPECT_EQ(TcpProbeForPort(22)->name(), "ssh");
  EXPECT_EQ(TcpProbeForPort(1), nullptr);
  EXPECT_EQ(TcpProbeByName("nope"), nullptr);
  ASSERT_GE(IdentificationOrder().size(), 3u);
  EXPECT_EQ(IdentificationOrder()[0]->name(), "banner");
  EXPECT_EQ(IdentificationOrder()[1]->name(), "http");
  for (const TcpProbe* p : IdentificationOrder()) {
    EXPECT_EQ(TcpProbeByName(p->name()), p);
  }
}

TEST(TcpProbesTest, RedisWithoutPassword) {
  const std::string info =
      "# Server\r\nredis_version:7.0.15\r\nredis_git_sha1:00000000\r\n"
      "redis_mode:standalone\r\nos:Linux 6.1.0 x86_64\r\n";
  const std::string answer = absl::StrCat("+PONG\r\n$", info.size(), "\r\n", info, "\r\n");
  Evidence ev = Talk("redis", answer);
  EXPECT_TRUE(ev.verified);
  EXPECT_EQ(ev.service, "Redis");
  EXPECT_EQ(ev.version, "7.0.15");
  EXPECT_EQ(ev.auth, Auth::kNotRequired);
  EXPECT_EQ(ev.facts[0], "redis_mode=standalone");
  EXPECT_EQ(Describe(ev).substr(0, 12), "Redis 7.0.15");
  ExpectRobust("redis", answer);
}

TEST(TcpProbesTest, RedisWithPassword) {
  const std::string answer =
      "-NOAUTH Authentication required.\r\n-NOAUTH Authentication required.\r\n";
  Evidence ev = Talk("redis", answer);
  EXPECT_TRUE(ev.verified);
  EXPECT_EQ(ev.service, "Redis");
  EXPECT_EQ(ev.auth, Auth::kRequired);
  ExpectRobust("redis", answer);
}

TEST(TcpProbesTest, RedisRequestIsPipelinedPingAndInfo) {
  EXPECT_EQ(TcpProbeByName("redis")->Open()->Start(),
            "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n");
}

TEST(TcpProbesTest, Memcached) {
  const std::string answer =
      "STAT pid 4242\r\nSTAT uptime 100\r\nSTAT version 1.6.18\r\nSTAT curr_items 3\r\nEND\r\n";
  Evidence ev = Talk("memcached", answer);
  EXPECT_TRUE(ev.verified);
  EXPECT_EQ(ev.service, "Memcached");
  EXPECT_EQ(ev.version, "1.6.18");
  EXPECT_EQ(ev.auth, Auth::kNotRequired);
  ExpectRobust("memcached", answer);
  EXPECT_FALSE(Talk("memcached", "-ERR unknown command 'stats'\r\n").verified);
}

TEST(TcpProbesTest, Ssh) {
  const std::string answer = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u1\r\n";
  for (absl::string_view probe : {"ssh", "banner"}) {
    Evidence ev = Talk(probe, answer);
    EXPECT_TRUE(ev.verified) << probe;
    EXPECT_EQ(ev.service, "SSH");
    EXPECT_EQ(ev.version, "OpenSSH_9.2p1");
    EXPECT_EQ(ev.banner, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u1");
    ExpectRobust(probe, answer);
  }
  EXPECT_FALSE(Talk("ssh", "HTTP/1.1 400 Bad Request\r\n\r\n").verified);
}

TEST(TcpProbesTest, BannerRecognisesTelnetVncAndSmtp) {
  Evidence t = Talk("banner", "\xff\xfd\x18\xff\xfd\x20");
  EXPECT_TRUE(t.verified);
  EXPECT_EQ(t.service, "Telnet");
  Evidence v = Talk("banner", "RFB 003.008\n");
  EXPECT_TRUE(v.verified);
  EXPECT_EQ(v.service, "VNC");
  EXPECT_EQ(v.version, "3.8");
  ExpectRobust("banner", "RFB 003.008\n");
  Evidence s = Talk("banner", "220 mail.example ESMTP Postfix (Debian/GNU)\r\n");
  EXPECT_TRUE(s.verified);
  EXPECT_EQ(s.service, "SMTP");
  Evidence other = Talk("banner", "hello there\n");
  EXPECT_FALSE(other.verified);
  EXPECT_EQ(other.banner, "hello there");
}

TEST(TcpProbesTest, TelnetNegotiatesThenReadsThePrompt) {
  std::unique_ptr<TcpSession> s = TcpProbeByName("telnet")->Open();
  EXPECT_EQ(s->Start(), "");
  Evidence ev;
  TcpStep step = s->OnData("\xff\xfd\x18\xff\xfb\x01", false, &ev);
  ASSERT_EQ(step.kind, TcpStep::Kind::kMore);
  EXPECT_EQ(step.send, "\xff\xfc\x18\xff\xfe\x01");  // WONT 24, DONT 1
  step = s->OnData("Debian GNU/Linux 12\r\nlogin: ", false, &ev);
  ASSERT_EQ(step.kind, TcpStep::Kind::kDone);
  EXPECT_TRUE(ev.verified);
  EXPECT_EQ(ev.service, "Telnet");
  EXPECT_EQ(ev.banner, "Debian GNU/Linux 12 login:");
  ExpectRobust("telnet", "\xff\xfd\x18\xff\xfb\x01login: ");
}

std::string HttpAnswerText(int status, absl::string_view body, absl::string_view extra = "") {
  return absl::StrCat("HTTP/1.1 ", status,
                      " X\r\nServer: nginx/1.22.1\r\nContent-Length: ", body.size(), "\r\n", extra,
                      "\r\n", body);
}

TEST(TcpProbesTest, Http) {
  const std::string answer = HttpAnswerText(200, "<html>hi</html>");
  Evidence ev = Talk("http", answer);
  EXPECT_TRUE(ev.verified);
  EXPECT_EQ(ev.service, "HTTP");
  EXPECT_EQ(ev.banner, "nginx/1.22.1");
  EXPECT_EQ(ev.auth, Auth::kUnknown);
  ExpectRobust("http", answer);
  EXPECT_EQ(Talk("http", HttpAnswerText(401, "no")).auth, Auth::kRequired);
  // Chunked.
  Evidence c =
      Talk("http", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  EXPECT_TRUE(c.verified);
  EXPECT_FALSE(Talk("http", "SSH-2.0-OpenSSH_9.2\r\n").verified);
  EXPECT_EQ(TcpProbeByName("http")->Open()->Start().substr(0, 16), "GET / HTTP/1.0\r\n");
}

TEST(TcpProbesTest, Elasticsearch) {
  const std::string body = R"({"name":"n1","cluster_name":"prod","version":{"number":"8.11.1"},)"
                           R"("tagline":"You Know, for Search"})";
  Evidence ev = Talk("elasticsearch", HttpAnswerText(200, body));
  EXPECT_TRUE(ev.verified);
  EXPECT_EQ(ev.service, "Elasticsearch");
  EXPECT_EQ(ev.version, "8.11.1");
  EXPECT_EQ(ev.auth, Auth::kNotRequired);
  EXPECT_EQ(ev.facts[0], "cluster_name=prod");
  ExpectRobust("elasticsearch", HttpAnswerText(200, body));
  const std::string os =
      R"({"cluster_name":"c","version":{"distribution":"opensearch","number":"2.11.0"}})";
  EXPECT_EQ(Talk("elasticsearch", HttpAnswerText(200, os)).service, "OpenSearch");
  Evidence locked =
      Talk("elasticsearch", HttpAnswerText(401, R"({"error":{"type":"security_exception"}})",
                                           "WWW-Authenticate: Basic realm=\"security\"\r\n"));
  EXPECT_TRUE(locked.verified);
  EXPECT_EQ(locked.auth, Auth::kRequired);
  EXPECT_FALSE(Talk("elasticsearch", HttpAnswerText(200, "<html/>")).verified);
}

TEST(TcpProbesTest, Docker) {
  const std::string body = R"({"Components":[{"Name":"Engine","Version":"0.0-component"}],)"
                           R"("Version":"24.0.7","ApiVersion":"1.43","Os":"linux"})";
  Evidence ev = Talk("docker", HttpAnswerText(200, body));
  EXPECT_TRUE(ev.verified);
  EXPECT_EQ(ev.service, "Docker API");
  EXPECT_EQ(ev.version, "24.0.7");
  EXPECT_EQ(ev.auth, Auth::kNotRequired);
  ExpectRobust("docker", HttpAnswerText(200, body));
}

TEST(TcpProbesTest, KubernetesPlainSessions) {
  Evidence ok = Talk(&KubernetesProbe(),
                     HttpAnswerText(200, R"({"major":"1","minor":"28","gitVersion":"v1.28.3"})"));
  EXPECT_TRUE(ok.verified);
  EXPECT_EQ(ok.version, "1.28.3");
  EXPECT_EQ(ok.auth, Auth::kNotRequired);
  Evidence refused = Talk(
      &KubernetesProbe(),
      HttpAnswerText(401, R"({"kind":"Status","apiVersion":"v1","status":"Failure","code":401})"));
  EXPECT_TRUE(refused.verified);
  EXPECT_EQ(refused.auth, Auth::kRequired);
}

TEST(TcpProbesTest, MysqlAndMariadbGreetings) {
  auto greeting = [](absl::string_view version, uint16_t caps) {
    std::string p = "\x0a";
    p += std::string(version);
    p.push_back('\0');
    p += std::string("\x01\x00\x00\x00", 4) + "abcdefgh" + std::string(1, '\0');
    p.push_back(static_cast<char>(caps & 0xff));
    p.push_back(static_cast<char>(caps >> 8));
    p += std::string("\x21\x02\x00\xff\x81\x15", 6) + std::string(10, '\0') + "ijklmnopqrst";
    p.push_back('\0');
    p += "mysql_native_password";
    p.push_back('\0');
    std::string out;
    out.push_back(static_cast<char>(p.size() & 0xff));
    out.push_back(static_cast<char>((p.size() >> 8) & 0xff));
    out.push_back('\0');
    out.push_back('\0');
    return out + p;
  };
  const std::string my = greeting("8.0.35-0ubuntu0.22.04.1", 0xffff);
  Evidence ev = Talk("mysql", my);
  EXPECT_TRUE(ev.verified);
  EXPECT_EQ(ev.service, "MySQL");
  EXPECT_EQ(ev.version, "8.0.35");
  EXPECT_TRUE(ev.tls_offered);
  EXPECT_EQ(ev.auth, Auth::kUnknown);
  ExpectRobust("mysql", my);
  Evidence banner = Talk("banner", my);
  EXPECT_TRUE(banner.verified);
  EXPECT_EQ(banner.service, "MySQL");
  EXPECT_EQ(banner.version, "8.0.35");
  const std::string maria = greeting("5.5.5-10.11.4-MariaDB-1~deb12u1", 0xf7ff);
  Evidence m = Talk("mysql", maria);
  EXPECT_EQ(m.service, "MariaDB");
  EXPECT_EQ(m.version, "10.11.4");
  EXPECT_FALSE(m.tls_offered);
  std::string msg = "Host '10.0.0.1' is not allowed to connect to this MySQL server";
  std::string err = std::string(1, static_cast<char>(msg.size() + 3)) +
                    std::string("\x00\x00\x00", 3) + std::string("\xff\x6a\x04", 3) + msg;
  Evidence e = Talk("mysql", err);
  EXPECT_TRUE(e.verified);
  EXPECT_EQ(e.service, "MySQL");
  EXPECT_EQ(e.auth, Auth::kRequired);
  ExpectRobust("mysql", err);
}

TEST(TcpProbesTest, PostgresqlSslRequest) {
  EXPECT_EQ(TcpProbeByName("postgresql")->Open()->Start(),
            std::string("\x00\x00\x00\x08\x04\xd2\x16\x2f", 8));
  Evidence s = Talk("postgresql", "S");
  EXPECT_TRUE(s.verified);
  EXPECT_EQ(s.service, "PostgreSQL");
  EXPECT_TRUE(s.tls_offered);
  Evidence n = Talk("postgresql", "N");
  EXPECT_TRUE(n.verified);
  EXPECT_FALSE(n.tls_offered);
  std::string fields = std::string("SFATAL\0C0A000\0Munsupported frontend protocol\0\0", 46);
  std::string e = "E";
  e += std::string("\x00\x00\x00", 3) + std::string(1, static_cast<char>(fields.size() + 4)) +
       fields;
  Evidence er = Talk("postgresql", e);
  EXPECT_TRUE(er.verified);
  EXPECT_EQ(er.banner, "unsupported frontend protocol");
  ExpectRobust("postgresql", e);
  EXPECT_FALSE(Talk("postgresql", "HTTP/1.1 400 Bad\r\n\r\n").verified);
}

TEST(TcpProbesTest, VncRepliesWithTheVersionThenReadsSecurityTypes) {
  std::unique_ptr<TcpSession> s = TcpProbeByName("vnc")->Open();
  EXPECT_EQ(s->Start(), "");
  Evidence ev;
  TcpStep step = s->OnData("RFB 003.008\n", false, &ev);
  ASSERT_EQ(step.kind, TcpStep::Kind::kMore);
  EXPECT_EQ(step.send, "RFB 003.008\n");
  step = s->OnData(std::string("\x02\x01\x02", 3), false, &ev);
  ASSERT_EQ(step.kind, TcpStep::Kind::kDone);
  EXPECT_TRUE(ev.verified);
  EXPECT_EQ(ev.service, "VNC");
  EXPECT_EQ(ev.version, "3.8");
  EXPECT_EQ(ev.auth, Auth::kNotRequired);
  EXPECT_EQ(Talk("vnc", std::string("RFB 003.008\n\x01\x02", 14)).auth, Auth::kRequired);
  EXPECT_EQ(Talk("vnc", std::string("RFB 003.003\n\x00\x00\x00\x01", 16)).auth, Auth::kNotRequired);
  ExpectRobust("vnc", std::string("RFB 003.008\n\x02\x01\x02", 15));
}

TEST(TcpProbesTest, RdpNegotiation) {
  EXPECT_EQ(TcpProbeByName("rdp")->Open()->Start().size(), 19u);
  const std::string rsp(
      "\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x1f\x08\x00\x02\x00\x00\x00", 19);
  Evidence ev = Talk("rdp", rsp);
  EXPECT_TRUE(ev.verified);
  EXPECT_EQ(ev.service, "RDP");
  EXPECT_TRUE(ev.tls_offered);
  EXPECT_EQ(ev.facts[0], "selected_protocol=hybrid");
  ExpectRobust("rdp", rsp);
  const std::string fail(
      "\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x03\x00\x08\x00\x02\x00\x00\x00", 19);
  Evidence f = Talk("rdp", fail);
  EXPECT_TRUE(f.verified);
  EXPECT_FALSE(f.tls_offered);
}

TEST(TcpProbesTest, CassandraSupported) {
  auto s = [](absl::string_view v) {
    std::string out;
    out.push_back(static_cast<char>(v.size() >> 8));
    out.push_back(static_cast<char>(v.size() & 0xff));
    return out + std::string(v);
  };
  std::string body = std::string("\x00\x02", 2) + s("CQL_VERSION") + std::string("\x00\x01", 2) +
                     s("3.4.5") + s("COMPRESSION") + std::string("\x00\x02", 2) + s("snappy") +
                     s("lz4");
  std::string frame = std::string("\x84\x00\x00\x01\x06\x00\x00\x00", 8) +
                      std::string(1, static_cast<char>(body.size())) + body;
  Evidence ev = Talk("cassandra", frame);
  EXPECT_TRUE(ev.verified);
  EXPECT_EQ(ev.service, "Cassandra");
  EXPECT_EQ(ev.facts[0], "cql_version=3.4.5");
  EXPECT_EQ(ev.facts[1], "compression=snappy,lz4");
  ExpectRobust("cassandra", frame);
}

// An in-process TLS server on memory BIOs with a self-signed key made here,
// answering one HTTP request with `response`.
Evidence TalkTls(absl::string_view probe, absl::string_view response) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("test"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_sign(cert, key, EVP_sha256());
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  EXPECT_EQ(SSL_CTX_use_certificate(ctx, cert), 1);
  EXPECT_EQ(SSL_CTX_use_PrivateKey(ctx, key), 1);
  SSL* server = SSL_new(ctx);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(in, -1);
  SSL_set_bio(server, in, out);
  SSL_set_accept_state(server);

  std::unique_ptr<TcpSession> client = TcpProbeByName(probe)->Open();
  std::string to_server = client->Start();
  EXPECT_FALSE(to_server.empty());
  std::string request;
  bool responded = false;
  Evidence ev;
  bool done = false;
  for (int round = 0; round < 20 && !done; ++round) {
    if (!to_server.empty()) BIO_write(in, to_server.data(), static_cast<int>(to_server.size()));
    if (!SSL_is_init_finished(server)) SSL_do_handshake(server);
    if (SSL_is_init_finished(server)) {
      char buf[4096];
      int n;
      while ((n = SSL_read(server, buf, sizeof buf)) > 0)
        request.append(buf, static_cast<size_t>(n));
      if (!responded && request.find("\r\n\r\n") != std::string::npos) {
        SSL_write(server, response.data(), static_cast<int>(response.size()));
        responded = true;
      }
    }
    std::string to_client;
    char buf[4096];
    int n;
    while ((n = BIO_read(out, buf, sizeof buf)) > 0) to_client.append(buf, static_cast<size_t>(n));
    TcpStep step = client->OnData(to_client, false, &ev);
    done = step.kind == TcpStep::Kind::kDone;
    to_server = step.send;
  }
  EXPECT_TRUE(done);
  EXPECT_TRUE(responded);
  EXPECT_EQ(request.substr(0, 4), "GET ");
  SSL_free(server);
  SSL_CTX_free(ctx);
  X509_free(cert);
  EVP_PKEY_free(key);
  return ev;
}

TEST(TcpProbesTest, TlsWrapperKubernetesVersionAndRefusal) {
  ASSERT_EQ(TcpProbeForPort(6443), TcpProbeByName("kubernetes"));
  Evidence ok = TalkTls(
      "kubernetes", HttpAnswerText(200, R"({"major":"1","minor":"28","gitVersion":"v1.28.3"})"));
  EXPECT_TRUE(ok.verified);
  EXPECT_EQ(ok.service, "Kubernetes API");
  EXPECT_EQ(ok.version, "1.28.3");
  EXPECT_EQ(ok.auth, Auth::kNotRequired);
  EXPECT_TRUE(ok.tls_offered);
  Evidence refused = TalkTls(
      "kubernetes",
      HttpAnswerText(401, R"({"kind":"Status","apiVersion":"v1","status":"Failure","code":401})"));
  EXPECT_TRUE(refused.verified);
  EXPECT_EQ(refused.auth, Auth::kRequired);
  Evidence kubelet = TalkTls("kubelet", HttpAnswerText(401, "Unauthorized"));
  EXPECT_TRUE(kubelet.verified);
  EXPECT_EQ(kubelet.service, "kubelet");
  EXPECT_EQ(kubelet.auth, Auth::kRequired);
}

TEST(TcpProbesTest, TlsWrapperGivesUnverifiedOnPlaintextAndGarbage) {
  EXPECT_FALSE(Talk("kubernetes", HttpAnswerText(200, "{}")).verified);
  EXPECT_FALSE(Talk("kubelet", std::string(kMaxResponse * 2, 'x')).verified);
  EXPECT_FALSE(Talk("docker-tls", "", 1).verified);
}

// A hand-made BSON document for the MongoDB tests.
class Bson {
 public:
  Bson& Int(absl::string_view k, int32_t v) {
    Head('\x10', k);
    Le32(static_cast<uint32_t>(v));
    return *this;
  }
  Bson& Double(absl::string_view k, double v) {
    Head('\x01', k);
    uint64_t bits;
    __builtin_memcpy(&bits, &v, sizeof bits);
    Le32(static_cast<uint32_t>(bits));
    Le32(static_cast<uint32_t>(bits >> 32));
    return *this;
  }
  Bson& Str(absl::string_view k, absl::string_view v) {
    Head('\x02', k);
    Le32(static_cast<uint32_t>(v.size() + 1));
    e_ += std::string(v);
    e_.push_back('\0');
    return *this;
  }
  Bson& Array(absl::string_view k, const std::string& doc) {
    Head('\x04', k);
    e_ += doc;
    return *this;
  }
  std::string Done() const {
    std::string d;
    const auto n = static_cast<uint32_t>(e_.size() + 5);
    for (int i = 0; i < 4; ++i) d.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    return d + e_ + std::string(1, '\0');
  }

 private:
  void Head(char t, absl::string_view k) {
    e_.push_back(t);
    e_ += std::string(k);
    e_.push_back('\0');
  }
  void Le32(uint32_t v) {
    for (int i = 0; i < 4; ++i) e_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string e_;
};

std::string MongoReply(uint32_t response_to, const std::string& doc) {
  std::string m;
  auto le32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) m.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  le32(static_cast<uint32_t>(21 + doc.size()));
  le32(100 + response_to);
  le32(response_to);
  le32(2013);
  le32(0);
  m.push_back('\0');
  return m + doc;
}

TEST(TcpProbesTest, MongodbOpen) {
  const std::string start = TcpProbeByName("mongodb")->Open()->Start();
  EXPECT_NE(start.find("hello"), std::string::npos);
  EXPECT_NE(start.find("listDatabases"), std::string::npos);
  const std::string dbs = Bson().Str("0", "admin").Str("1", "shop").Done();
  const std::string answer =
      MongoReply(1, Bson().Int("maxWireVersion", 21).Double("ok", 1).Done()) +
      MongoReply(2, Bson().Str("version", "7.0.2").Double("ok", 1).Done()) +
      MongoReply(3, Bson().Array("databases", dbs).Double("ok", 1).Done());
  Evidence ev = Talk("mongodb", answer);
  EXPECT_TRUE(ev.verified);
  EXPECT_EQ(ev.service, "MongoDB");
  EXPECT_EQ(ev.version, "7.0.2");
  EXPECT_EQ(ev.auth, Auth::kNotRequired);
  EXPECT_EQ(ev.facts[1], "databases=2");
  ExpectRobust("mongodb", answer);
}

TEST(TcpProbesTest, MongodbUnauthorized) {
  const std::string answer =
      MongoReply(1, Bson().Int("maxWireVersion", 17).Double("ok", 1).Done()) +
      MongoReply(2, Bson().Str("version", "6.0.12").Double("ok", 1).Done()) +
      MongoReply(3, Bson()
                        .Double("ok", 0)
                        .Str("errmsg", "requires authentication")
                        .Int("code", 13)
                        .Str("codeName", "Unauthorized")
                        .Done());
  Evidence ev = Talk("mongodb", answer);
  EXPECT_TRUE(ev.verified);
  EXPECT_EQ(ev.version, "6.0.12");
  EXPECT_EQ(ev.auth, Auth::kRequired);
  ExpectRobust("mongodb", answer);
  EXPECT_FALSE(Talk("mongodb", HttpAnswerText(200, "It looks like you are trying")).verified);
}

std::string BerTlv(char tag, const std::string& content) {
  return std::string(1, tag) + std::string(1, static_cast<char>(content.size())) + content;
}

TEST(TcpProbesTest, LdapRootDse) {
  const std::string start = TcpProbeByName("ldap")->Open()->Start();
  EXPECT_EQ(start[0], '\x30');
  EXPECT_NE(start.find("namingContexts"), std::string::npos);
  auto attr = [](const std::string& type, const std::string& value) {
    return BerTlv('\x30', BerTlv('\x04', type) + BerTlv('\x31', BerTlv('\x04', value)));
  };
  const std::string attrs = attr("namingContexts", "dc=example,dc=org") +
                            attr("supportedLDAPVersion", "3") +
                            attr("supportedExtension", "1.3.6.1.4.1.1466.20037");
  const std::string entry = BerTlv(
      '\x30', BerTlv('\x02', "\x01") + BerTlv('\x64', BerTlv('\x04', "") + BerTlv('\x30', attrs)));
  const std::string done = BerTlv(
      '\x30', BerTlv('\x02', "\x01") + BerTlv('\x65', BerTlv('\x0a', std::string(1, '\0')) +
                                                          BerTlv('\x04', "") + BerTlv('\x04', "")));
  Evidence ev = Talk("ldap", entry + done);
  EXPECT_TRUE(ev.verified);
  EXPECT_EQ(ev.service, "LDAP");
  EXPECT_EQ(ev.auth, Auth::kNotRequired);
  EXPECT_TRUE(ev.tls_offered);
  EXPECT_EQ(ev.facts[0], "naming_contexts=dc=example,dc=org");
  ExpectRobust("ldap", entry + done);
  const std::string refused = BerTlv(
      '\x30', BerTlv('\x02', "\x01") +
                  BerTlv('\x65', BerTlv('\x0a', "\x32") + BerTlv('\x04', "") + BerTlv('\x04', "")));
  Evidence r = Talk("ldap", refused);
  EXPECT_TRUE(r.verified);
  EXPECT_EQ(r.auth, Auth::kRequired);
}

}  // namespace
}  // namespace goalkeeper::probes
