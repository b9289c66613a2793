// The text-protocol TCP probes: banner, http, redis, memcached, ssh, telnet
// and the HTTP-based elasticsearch, docker, kubernetes, kubelet.
#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"
#include "probes/evidence.h"
#include "probes/tcp/buffered_session.h"
#include "probes/tcp/tcp_probes.h"

namespace goalkeeper::probes {
namespace {

void Verify(Evidence& ev, absl::string_view service) {
  ev.service = std::string(service);
  ev.verified = true;
}

// The value of `key` in "key:value\r\n" lines (Redis INFO).
absl::string_view InfoField(absl::string_view text, absl::string_view key) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripTrailingAsciiWhitespace(line);
    if (absl::ConsumePrefix(&line, key) && absl::ConsumePrefix(&line, ":")) return line;
  }
  return {};
}

// --- ssh -------------------------------------------------------------------
// RFC 4253 4.2: the server may send other lines before "SSH-protoversion-
// softwareversion SP comments CR LF".
bool ParseSsh(absl::string_view buf, bool final, Evidence& ev, bool* need_more) {
  *need_more = false;
  size_t pos = 0;
  while (pos < buf.size()) {
    const size_t nl = buf.find('\n', pos);
    absl::string_view line =
        buf.substr(pos, nl == absl::string_view::npos ? absl::string_view::npos : nl - pos);
    if (absl::StartsWith(line, "SSH-") ||
        (nl == absl::string_view::npos && absl::StartsWith("SSH-", line.substr(0, 4)))) {
      if (nl == absl::string_view::npos && !final) {
        *need_more = true;
        return false;
      }
      line = absl::StripTrailingAsciiWhitespace(line);
      std::vector<absl::string_view> parts = absl::StrSplit(line, absl::MaxSplits('-', 2));
      if (parts.size() < 3 || parts[1].empty()) return false;
      absl::string_view software = parts[2];
      software = software.substr(0, software.find(' '));
      if (software.empty()) return false;
      Verify(ev, "SSH");
      ev.version = Sanitise(software, kMaxVersion);
      ev.banner = Sanitise(line, kMaxBanner);
      AddFact(ev, "protocol", parts[1]);
      return true;
    }
    if (nl == absl::string_view::npos) break;
    pos = nl + 1;
  }
  *need_more = !final && buf.size() < 4096;
  return false;
}

class SshSession final : public BufferedSession {
  std::string Request() override { return ""; }
  Parsed Parse(absl::string_view buf, bool final, Evidence& ev) override {
    bool need_more = false;
    if (ParseSsh(buf, final, ev, &need_more)) return Done();
    return need_more ? More() : Done();
  }
};

// --- telnet ----------------------------------------------------------------
// RFC 854: IAC (255) followed by WILL/WONT/DO/DONT (251..254) + option, or
// SB ... IAC SE, or a two-byte command.
constexpr uint8_t kIac = 255, kSb = 250, kSe = 240, kWill = 251, kDont = 254;

struct TelnetScan {
  bool iac = false;      // at least one well-formed negotiation
  bool partial = false;  // the buffer ends inside a command
  std::string text;      // the bytes that are not commands
  std::vector<int> options;
  std::string replies;  // our refusals (DO x -> WONT x, WILL x -> DONT x)
};

TelnetScan ScanTelnet(absl::string_view buf) {
  TelnetScan t;
  size_t i = 0;
  while (i < buf.size()) {
    const uint8_t c = ByteAt(buf, i);
    if (c != kIac) {
      t.text.push_back(buf[i]);
      ++i;
      continue;
    }
    if (i + 1 >= buf.size()) {
      t.partial = true;
      break;
    }
    const uint8_t cmd = ByteAt(buf, i + 1);
    if (cmd >= kWill && cmd <= kDont) {
      if (i + 2 >= buf.size()) {
        t.partial = true;
        break;
      }
      const uint8_t opt = ByteAt(buf, i + 2);
      t.iac = true;
      if (t.options.size() < 16) t.options.push_back(opt);
      const bool asks = cmd == kWill || cmd == kWill + 2;  // WILL or DO
      if (asks) {
        t.replies.push_back(static_cast<char>(kIac));
        t.replies.push_back(static_cast<char>(cmd == kWill ? kDont : kWill + 1));  // DONT / WONT
        t.replies.push_back(static_cast<char>(opt));
      }
      i += 3;
    } else if (cmd == kSb) {
      const size_t end = buf.find("\xff\xf0", i + 2);
      if (end == absl::string_view::npos) {
        t.partial = true;
        break;
      }
      t.iac = true;
      i = end + 2;
    } else if (cmd == kIac) {
      t.text.push_back(buf[i]);
      i += 2;
    } else if (cmd >= kSe) {
      t.iac = true;
      i += 2;
    } else {
      t.text.push_back(buf[i]);
      ++i;
    }
  }
  return t;
}

bool LooksLikePrompt(absl::string_view text) {
  const std::string lower = absl::AsciiStrToLower(absl::StripTrailingAsciiWhitespace(text));
  return absl::EndsWith(lower, "login:") || absl::EndsWith(lower, "username:") ||
         absl::EndsWith(lower, "password:") || absl::EndsWith(lower, "user:");
}

class TelnetSession final : public BufferedSession {
  std::string Request() override { return ""; }
  Parsed Parse(absl::string_view buf, bool final, Evidence& ev) override {
    TelnetScan t = ScanTelnet(buf);
    const bool prompt = LooksLikePrompt(t.text);
    if (t.iac || prompt) {
      ev = Evidence{};
      Verify(ev, "Telnet");
      ev.banner = Sanitise(t.text, kMaxBanner);
      if (!t.options.empty()) AddFact(ev, "options", absl::StrJoin(t.options, ","));
      if (prompt) AddFact(ev, "login_prompt", "yes");
    }
    if (prompt || final) return Done();
    // Refuse each new negotiation so that the server goes on to its prompt.
    std::string send = t.replies.substr(std::min(replied_, t.replies.size()));
    replied_ = t.replies.size();
    return More(std::move(send));
  }
  size_t replied_ = 0;
};

// --- banner (server-first, generic) -----------------------------------------
class BannerSession final : public BufferedSession {
  std::string Request() override { return ""; }
  Parsed Parse(absl::string_view buf, bool final, Evidence& ev) override {
    if (buf.empty()) return final ? Done() : More();
    if (ByteAt(buf, 0) == kIac) {
      TelnetScan t = ScanTelnet(buf);
      if (t.partial && !final) return More();
      if (t.iac) {
        Verify(ev, "Telnet");
        ev.banner = Sanitise(t.text, kMaxBanner);
      }
      return Done();
    }
    // A MySQL/MariaDB greeting: 3-byte length, sequence 0, protocol 10 (or ERR 0xff).
    if (buf.size() >= 5 && ByteAt(buf, 3) == 0 &&
        (ByteAt(buf, 4) == 10 || ByteAt(buf, 4) == 0xff)) {
      std::unique_ptr<TcpSession> mysql = MysqlProbe().Open();
      Evidence my;
      if (mysql->OnData(buf, final, &my).kind == TcpStep::Kind::kMore) return More();
      ev = my;
      return Done();
    }
    if (absl::StartsWith(buf, "RFB ") || absl::StartsWith("RFB ", buf)) {
      if (buf.size() < 12) return final ? Done() : More();
      int major = 0, minor = 0;
      if (buf[11] == '\n' && absl::SimpleAtoi(buf.substr(4, 3), &major) &&
          absl::SimpleAtoi(buf.substr(8, 3), &minor) && buf[7] == '.') {
        Verify(ev, "VNC");
        ev.version = absl::StrCat(major, ".", minor);
        ev.banner = Sanitise(buf.substr(0, 11), kMaxBanner);
      }
      return Done();
    }
    if (absl::StartsWith(buf, "SSH-") || absl::StartsWith("SSH-", buf)) {
      bool need_more = false;
      ParseSsh(buf, final, ev, &need_more);
      return need_more ? More() : Done();
    }
    // A text line: FTP / SMTP greetings ("220 ..."), anything else as banner.
    const size_t nl = buf.find('\n');
    if (nl == absl::string_view::npos && !final && buf.size() < 512) return More();
    absl::string_view line = absl::StripAsciiWhitespace(buf.substr(0, nl));
    const std::string lower = absl::AsciiStrToLower(line);
    if (absl::StartsWith(line, "220")) {
      if (absl::StrContains(lower, "smtp")) {
        Verify(ev, "SMTP");
      } else if (absl::StrContains(lower, "ftp")) {
        Verify(ev, "FTP");
      }
    }
    ev.banner = Sanitise(line, kMaxBanner);
    return Done();
  }
};

// --- redis -----------------------------------------------------------------
// RESP: "+PONG\r\n" then the INFO bulk string "$<n>\r\n<n bytes>\r\n";
// errors "-NOAUTH ...", "-DENIED ..." (protected mode), "-ERR operation not
// permitted" (old versions with requirepass).
class RedisSession final : public BufferedSession {
  std::string Request() override {
    return "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n";
  }
  Parsed Parse(absl::string_view buf, bool final, Evidence& ev) override {
    const size_t eol = buf.find("\r\n");
    if (eol == absl::string_view::npos) return final ? Done() : More();
    absl::string_view first = buf.substr(0, eol);
    if (first == "+PONG") {
      Verify(ev, "Redis");
      ev.auth = Auth::kNotRequired;  // PING answered: requirepass would say NOAUTH
      absl::string_view rest = buf.substr(eol + 2);
      const size_t eol2 = rest.find("\r\n");
      if (eol2 == absl::string_view::npos) return final ? Done() : More();
      absl::string_view head = rest.substr(0, eol2);
      size_t n = 0;
      if (!absl::ConsumePrefix(&head, "$") || !absl::SimpleAtoi(head, &n)) return Done();
      absl::string_view info = rest.substr(eol2 + 2);
      if (info.size() < n && !final) return More();
      info = info.substr(0, n);
      ev.version = Sanitise(InfoField(info, "redis_version"), kMaxVersion);
      absl::string_view mode = InfoField(info, "redis_mode");
      if (!mode.empty()) AddFact(ev, "redis_mode", mode);
      absl::string_view os = InfoField(info, "os");
      if (!os.empty()) AddFact(ev, "os", os);
      return Done();
    }
    if (absl::StartsWith(first, "-NOAUTH") ||
        absl::StartsWith(first, "-ERR operation not permitted") ||
        absl::StartsWith(first, "-ERR Client sent AUTH")) {
      Verify(ev, "Redis");
      ev.auth = Auth::kRequired;
      ev.banner = Sanitise(first.substr(1), kMaxBanner);
      return Done();
    }
    if (absl::StartsWith(first, "-DENIED")) {
      Verify(ev, "Redis");
      ev.auth = Auth::kRequired;
      AddFact(ev, "protected_mode", "yes");
      ev.banner = Sanitise(first.substr(1), kMaxBanner);
    }
    return Done();
  }
};

// --- memcached -------------------------------------------------------------
class MemcachedSession final : public BufferedSession {
  std::string Request() override { return "stats\r\n"; }
  Parsed Parse(absl::string_view buf, bool final, Evidence& ev) override {
    if (absl::StartsWith(buf, "CLIENT_ERROR unauthenticated")) {
      Verify(ev, "Memcached");
      ev.auth = Auth::kRequired;
      return Done();
    }
    const bool end = absl::StrContains(buf, "\r\nEND\r\n");
    if (!end && !final) return More();
    if (!absl::StartsWith(buf, "STAT ")) return Done();
    Verify(ev, "Memcached");
    ev.auth = Auth::kNotRequired;
    for (absl::string_view line : absl::StrSplit(buf, "\r\n")) {
      std::vector<absl::string_view> f = absl::StrSplit(line, absl::MaxSplits(' ', 2));
      if (f.size() != 3 || f[0] != "STAT") continue;
      if (f[1] == "version") ev.version = Sanitise(f[2], kMaxVersion);
      if (f[1] == "curr_items") AddFact(ev, "curr_items", f[2]);
    }
    return Done();
  }
};

}  // namespace

// --- HTTP ------------------------------------------------------------------
std::string HttpGet(absl::string_view path) {
  return absl::StrCat("GET ", path,
                      " HTTP/1.0\r\nUser-Agent: goalkeeper-probe\r\nAccept: */*\r\n"
                      "Connection: close\r\n\r\n");
}

HttpAnswer ParseHttp(absl::string_view buf) {
  HttpAnswer a;
  const size_t eol = buf.find("\r\n");
  if (eol == absl::string_view::npos) return a;
  absl::string_view status = buf.substr(0, eol);
  if (!absl::ConsumePrefix(&status, "HTTP/1.") || status.size() < 5 || status[1] != ' ') return a;
  if (!absl::SimpleAtoi(status.substr(2, 3), &a.status) || a.status < 100 || a.status > 599)
    return a;
  if (status.size() > 5 && status[5] != ' ') return a;
  a.status_line = true;
  const size_t hend = buf.find("\r\n\r\n");
  if (hend == absl::string_view::npos) {
    a.body.clear();
    return a;
  }
  bool chunked = false;
  long long length = -1;
  for (absl::string_view line : absl::StrSplit(buf.substr(eol + 2, hend - eol - 2), "\r\n")) {
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    const std::string name = absl::AsciiStrToLower(line.substr(0, colon));
    absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
    if (name == "server") a.server = std::string(value);
    if (name == "www-authenticate") a.www_authenticate = std::string(value);
    if (name == "content-length" && !absl::SimpleAtoi(value, &length)) length = -1;
    if (name == "transfer-encoding" && absl::StrContains(absl::AsciiStrToLower(value), "chunked"))
      chunked = true;
  }
  absl::string_view body = buf.substr(hend + 4);
  if (chunked) {
    while (true) {
      const size_t le = body.find("\r\n");
      if (le == absl::string_view::npos) break;
      absl::string_view size_text = body.substr(0, le);
      size_text = size_text.substr(0, size_text.find(';'));
      size_t n = 0;
      if (!absl::SimpleHexAtoi(absl::StripAsciiWhitespace(size_text), &n)) break;
      if (n == 0) {
        a.complete = true;
        break;
      }
      body.remove_prefix(le + 2);
      if (body.size() < n) {
        a.body.append(body.data(), body.size());
        break;
      }
      a.body.append(body.data(), n);
      body.remove_prefix(n);
      if (!absl::ConsumePrefix(&body, "\r\n")) break;
    }
  } else {
    a.body = std::string(body);
    a.complete = length >= 0 && a.body.size() >= static_cast<size_t>(length);
    if (a.complete) a.body.resize(static_cast<size_t>(length));
  }
  return a;
}

namespace {

// A session that sends one GET and interprets the answer once it is whole
// (or nothing more comes).
class HttpSessionBase : public BufferedSession {
 protected:
  explicit HttpSessionBase(absl::string_view path) : path_(path) {}
  virtual void Interpret(const HttpAnswer& a, Evidence& ev) = 0;

 private:
  std::string Request() override { return HttpGet(path_); }
  Parsed Parse(absl::string_view buf, bool final, Evidence& ev) override {
    HttpAnswer a = ParseHttp(buf);
    if (!a.status_line) {
      // Not HTTP (or not yet): wait only while the bytes could still become a status line.
      const bool prefix = absl::StartsWith("HTTP/1.", buf.substr(0, 7));
      return final || !prefix || buf.find("\r\n") != absl::string_view::npos ? Done() : More();
    }
    if (!a.complete && !final) return More();
    Interpret(a, ev);
    return Done();
  }
  absl::string_view path_;
};

nlohmann::json ParseJson(const std::string& body) {
  return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
}

// A string member of a JSON object, "" when absent or not a string.
std::string JsonString(const nlohmann::json& j, std::initializer_list<const char*> path) {
  const nlohmann::json* cur = &j;
  for (const char* key : path) {
    if (!cur->is_object()) return "";
    auto it = cur->find(key);
    if (it == cur->end()) return "";
    cur = &*it;
  }
  return cur->is_string() ? cur->get<std::string>() : "";
}

void HttpFacts(const HttpAnswer& a, Evidence& ev) {
  AddFact(ev, "http_status", absl::StrCat(a.status));
  if (!a.server.empty()) AddFact(ev, "server", a.server);
}

class HttpSession final : public HttpSessionBase {
 public:
  HttpSession() : HttpSessionBase("/") {}

 private:
  void Interpret(const HttpAnswer& a, Evidence& ev) override {
    Verify(ev, "HTTP");
    if (a.status == 401 || a.status == 403) ev.auth = Auth::kRequired;
    ev.banner = Sanitise(a.server, kMaxBanner);
    HttpFacts(a, ev);
  }
};

class ElasticsearchSession final : public HttpSessionBase {
 public:
  ElasticsearchSession() : HttpSessionBase("/") {}

 private:
  void Interpret(const HttpAnswer& a, Evidence& ev) override {
    const nlohmann::json j = ParseJson(a.body);
    if (a.status == 200) {
      const std::string number = JsonString(j, {"version", "number"});
      if (number.empty()) return;
      const bool opensearch = JsonString(j, {"version", "distribution"}) == "opensearch";
      if (!opensearch && JsonString(j, {"cluster_name"}).empty()) return;
      Verify(ev, opensearch ? "OpenSearch" : "Elasticsearch");
      ev.version = Sanitise(number, kMaxVersion);
      ev.auth = Auth::kNotRequired;
      const std::string cluster = JsonString(j, {"cluster_name"});
      if (!cluster.empty()) AddFact(ev, "cluster_name", cluster);
      AddFact(ev, "security", "off");
      return;
    }
    if (a.status == 401 || a.status == 403) {
      const bool es = absl::StrContains(a.body, "security_exception") ||
                      absl::StrContains(a.www_authenticate, "realm=\"security\"");
      if (!es) return;
      Verify(ev, absl::StrContains(a.body, "opensearch") ? "OpenSearch" : "Elasticsearch");
      ev.auth = Auth::kRequired;
      AddFact(ev, "security", "on");
    }
  }
};

class DockerSession final : public HttpSessionBase {
 public:
  DockerSession() : HttpSessionBase("/version") {}

 private:
  void Interpret(const HttpAnswer& a, Evidence& ev) override {
    if (a.status != 200) return;
    const nlohmann::json j = ParseJson(a.body);
    const std::string version = JsonString(j, {"Version"});
    const std::string api = JsonString(j, {"ApiVersion"});
    if (version.empty() || api.empty()) return;
    Verify(ev, "Docker API");
    ev.version = Sanitise(version, kMaxVersion);
    ev.auth = Auth::kNotRequired;
    AddFact(ev, "api_version", api);
    const std::string os = JsonString(j, {"Os"});
    if (!os.empty()) AddFact(ev, "os", os);
  }
};

class KubernetesSession final : public HttpSessionBase {
 public:
  KubernetesSession() : HttpSessionBase("/version") {}

 private:
  void Interpret(const HttpAnswer& a, Evidence& ev) override {
    const nlohmann::json j = ParseJson(a.body);
    if (a.status == 200) {
      std::string v = JsonString(j, {"gitVersion"});
      if (v.empty() || JsonString(j, {"major"}).empty()) return;
      Verify(ev, "Kubernetes API");
      if (absl::StartsWith(v, "v")) v.erase(0, 1);
      ev.version = Sanitise(v, kMaxVersion);
      ev.auth = Auth::kNotRequired;
      AddFact(ev, "anonymous", "allowed");
      return;
    }
    if ((a.status == 401 || a.status == 403) && JsonString(j, {"kind"}) == "Status") {
      Verify(ev, "Kubernetes API");
      ev.auth = Auth::kRequired;
      AddFact(ev, "anonymous", "refused");
    }
  }
};

class KubeletSession final : public HttpSessionBase {
 public:
  KubeletSession() : HttpSessionBase("/pods") {}

 private:
  void Interpret(const HttpAnswer& a, Evidence& ev) override {
    // /pods can be large: the body may be cut at kMaxResponse, so no full JSON parse.
    if (a.status == 200 && absl::StrContains(a.body, "\"PodList\"")) {
      Verify(ev, "kubelet");
      ev.auth = Auth::kNotRequired;
      AddFact(ev, "anonymous", "allowed");
      return;
    }
    if ((a.status == 401 && absl::StartsWith(a.body, "Unauthorized")) ||
        (a.status == 403 && absl::StrContains(a.body, "Forbidden (user="))) {
      Verify(ev, "kubelet");
      ev.auth = Auth::kRequired;
      AddFact(ev, "anonymous", "refused");
    }
  }
};

}  // namespace

const TcpProbe& BannerProbe() {
  static const auto* p = new SimpleTcpProbe<BannerSession>("banner", "");
  return *p;
}
const TcpProbe& HttpProbe() {
  static const auto* p = new SimpleTcpProbe<HttpSession>("http", "HTTP");
  return *p;
}
const TcpProbe& RedisProbe() {
  static const auto* p = new SimpleTcpProbe<RedisSession>("redis", "Redis");
  return *p;
}
const TcpProbe& MemcachedProbe() {
  static const auto* p = new SimpleTcpProbe<MemcachedSession>("memcached", "Memcached");
  return *p;
}
const TcpProbe& SshProbe() {
  static const auto* p = new SimpleTcpProbe<SshSession>("ssh", "SSH");
  return *p;
}
const TcpProbe& TelnetProbe() {
  static const auto* p = new SimpleTcpProbe<TelnetSession>("telnet", "Telnet");
  return *p;
}
const TcpProbe& ElasticsearchProbe() {
  static const auto* p = new SimpleTcpProbe<ElasticsearchSession>("elasticsearch", "Elasticsearch");
  return *p;
}
const TcpProbe& DockerProbe() {
  static const auto* p = new SimpleTcpProbe<DockerSession>("docker", "Docker API");
  return *p;
}
const TcpProbe& KubernetesProbe() {
  static const auto* p = new SimpleTcpProbe<KubernetesSession>("kubernetes", "Kubernetes API");
  return *p;
}
const TcpProbe& KubeletProbe() {
  static const auto* p = new SimpleTcpProbe<KubeletSession>("kubelet", "kubelet");
  return *p;
}

}  // namespace goalkeeper::probes
