// libcurl HttpClient, RetryingHttpClient, UrlOrigin and LoadSecret.
//
// curl_global_init(CURL_GLOBAL_DEFAULT) must be called once in main() before
// any thread starts (tests do it in a gtest global environment); this file
// never calls it. Each request uses its own easy handle, so the client is
// thread-safe without locks.
#include "common/http_client.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"

namespace goalkeeper {
namespace {

// A response body larger than this is an error (a misbehaving or hostile
// server must not exhaust memory).
constexpr size_t kMaxResponseBytes = size_t{64} << 20;
// The same for the response headers, all together.
constexpr size_t kMaxHeaderBytes = size_t{1} << 20;
// Requests never run longer than this, whatever the caller asks.
constexpr absl::Duration kMaxTimeout = absl::Hours(1);

struct Transfer {
  HttpResponse response;
  size_t header_bytes = 0;
  bool too_large = false;
};

size_t OnBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * nmemb;
  if (t->response.body.size() + n > kMaxResponseBytes) {
    t->too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  t->response.body.append(data, n);
  return n;
}

size_t OnHeader(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * nmemb;
  t->header_bytes += n;
  if (t->header_bytes > kMaxHeaderBytes) {
    t->too_large = true;
    return 0;
  }
  absl::string_view line(data, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (absl::StartsWith(line, "HTTP/")) {
    // A new status line (e.g. after "100 Continue"): only the final
    // response's headers count.
    t->response.headers.clear();
    return n;
  }
  const size_t colon = line.find(':');
  if (colon == absl::string_view::npos || colon == 0) return n;
  t->response.headers.emplace_back(std::string(absl::StripAsciiWhitespace(line.substr(0, colon))),
                                   std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  return n;
}

bool IsToken(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' &&
        c != '!' && c != '#' && c != '$' && c != '%' && c != '&' && c != '\'' && c != '*' &&
        c != '+' && c != '^' && c != '`' && c != '|' && c != '~') {
      return false;
    }
  }
  return true;
}

bool HasLineBreak(absl::string_view s) {
  return s.find_first_of(absl::string_view("\r\n\0", 3)) != absl::string_view::npos;
}

long ClampMillis(absl::Duration d) {
  if (d > kMaxTimeout) d = kMaxTimeout;
  const int64_t ms = absl::ToInt64Milliseconds(d);
  return static_cast<long>(std::max<int64_t>(ms, 1));
}

// The parts of a URL that may carry secrets: everything after the authority
// (path, query, fragment) and the userinfo.
std::vector<std::string> SecretParts(absl::string_view url) {
  std::vector<std::string> parts;
  size_t start = url.find("://");
  start = start == absl::string_view::npos ? 0 : start + 3;
  const size_t end = url.find_first_of("/?#", start);
  absl::string_view authority =
      url.substr(start, end == absl::string_view::npos ? absl::string_view::npos : end - start);
  const size_t at = authority.rfind('@');
  if (at != absl::string_view::npos && at > 0) parts.emplace_back(authority.substr(0, at));
  if (end != absl::string_view::npos && url.size() - end > 1) parts.emplace_back(url.substr(end));
  return parts;
}

// libcurl's error buffer names hosts and ports, not paths; still, use it only
// when it holds no part of the URL that could be secret.
std::string SafeDetail(const char* errbuf, CURLcode rc, absl::string_view url) {
  std::string detail = errbuf;
  if (detail.empty()) return curl_easy_strerror(rc);
  for (const std::string& part : SecretParts(url)) {
    if (absl::StrContains(detail, part)) return curl_easy_strerror(rc);
  }
  return detail;
}

class CurlHttpClient : public HttpClient {
 public:
  explicit CurlHttpClient(CurlOptions options) : options_(std::move(options)) {}
  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  absl::StatusOr<HttpResponse> Send(const HttpRequest& req) override {
    const std::string origin = UrlOrigin(req.url);
    if (!IsToken(req.method)) {
      return absl::InvalidArgumentError(absl::StrCat(origin, ": invalid HTTP method"));
    }
    if (HasLineBreak(req.url)) {
      return absl::InvalidArgumentError(absl::StrCat(origin, ": URL contains a line break"));
    }
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
    if (curl == nullptr)
      return absl::InternalError(absl::StrCat(origin, ": curl_easy_init failed"));
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(nullptr,
                                                                        curl_slist_free_all);
    bool has_expect = false;
    for (const auto& [name, value] : req.headers) {
      if (!IsToken(name) || HasLineBreak(value)) {
        return absl::InvalidArgumentError(
            absl::StrCat(origin, ": invalid request header '", IsToken(name) ? name : "?", "'"));
      }
      if (absl::EqualsIgnoreCase(name, "Expect")) has_expect = true;
      // "Name;" is libcurl's way to send a header with an empty value.
      const std::string line = value.empty() ? name + ";" : name + ": " + value;
      curl_slist* next = curl_slist_append(headers.get(), line.c_str());
      if (next == nullptr) return absl::InternalError(absl::StrCat(origin, ": out of memory"));
      headers.release();
      headers.reset(next);
    }
    if (!has_expect && !req.body.empty()) {
      // No "Expect: 100-continue" round trip.
      curl_slist* next = curl_slist_append(headers.get(), "Expect:");
      if (next == nullptr) return absl::InternalError(absl::StrCat(origin, ": out of memory"));
      headers.release();
      headers.reset(next);
    }

    Transfer transfer;
    char errbuf[CURL_ERROR_SIZE] = {0};
    CURL* h = curl.get();
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);  // 3xx is returned as is
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ClampMillis(req.timeout));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     ClampMillis(std::min(options_.connect_timeout, req.timeout)));
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(kMaxResponseBytes));
    curl_easy_setopt(h, CURLOPT_USERAGENT, "goalkeeper/0.1");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer);
    if (headers != nullptr) curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());

    if (req.method == "GET") {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (req.method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
      if (req.method != "POST") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
      if (req.method == "POST" || !req.body.empty()) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
      }
    }

    const CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK) {
      long status = 0;
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
      transfer.response.status = static_cast<int>(status);
      return std::move(transfer.response);
    }
    if (transfer.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
      return absl::ResourceExhaustedError(
          absl::StrCat(origin, ": response larger than ", kMaxResponseBytes >> 20, " MiB"));
    }
    const std::string detail = SafeDetail(errbuf, rc, req.url);
    switch (rc) {
      case CURLE_OPERATION_TIMEDOUT:
        return absl::DeadlineExceededError(absl::StrCat(origin, ": timed out (", detail, ")"));
      case CURLE_URL_MALFORMAT:
      case CURLE_UNSUPPORTED_PROTOCOL:
        return absl::InvalidArgumentError(absl::StrCat(origin, ": ", detail));
      default:
        return absl::UnavailableError(absl::StrCat(origin, ": ", detail));
    }
  }

 private:
  const CurlOptions options_;
};

bool Retryable(const absl::StatusOr<HttpResponse>& r) {
  if (!r.ok()) {
    return absl::IsUnavailable(r.status()) || absl::IsDeadlineExceeded(r.status());
  }
  return r->status == 429 || (r->status >= 500 && r->status <= 599);
}

}  // namespace

std::string HttpResponse::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return "";
}

std::unique_ptr<HttpClient> MakeCurlHttpClient(CurlOptions options) {
  return std::make_unique<CurlHttpClient>(std::move(options));
}

std::string UrlEncode(absl::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string UrlOrigin(absl::string_view url) {
  const size_t sep = url.find("://");
  if (sep == absl::string_view::npos || sep == 0) return "(invalid URL)";
  std::string scheme = absl::AsciiStrToLower(url.substr(0, sep));
  for (char c : scheme) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return "(invalid URL)";
    }
  }
  absl::string_view authority = url.substr(sep + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  const size_t at = authority.rfind('@');
  if (at != absl::string_view::npos) authority.remove_prefix(at + 1);  // drop user:password
  absl::string_view host = authority;
  absl::string_view port;
  if (absl::StartsWith(authority, "[")) {  // [IPv6]:port
    const size_t close = authority.find(']');
    if (close == absl::string_view::npos) return "(invalid URL)";
    host = authority.substr(0, close + 1);
    absl::string_view rest = authority.substr(close + 1);
    if (absl::StartsWith(rest, ":")) port = rest.substr(1);
  } else {
    const size_t colon = authority.rfind(':');
    if (colon != absl::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
  }
  if (host.empty()) return "(invalid URL)";
  if (port.empty()) {
    if (scheme == "http") port = "80";
    if (scheme == "https") port = "443";
  }
  for (char c : port) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return "(invalid URL)";
  }
  std::string out = absl::StrCat(scheme, "://", absl::AsciiStrToLower(host));
  if (!port.empty()) absl::StrAppend(&out, ":", port);
  return out;
}

RetryingHttpClient::RetryingHttpClient(HttpClient& inner, RetryPolicy policy,
                                       std::function<void(absl::Duration)> sleep)
    : inner_(inner), policy_(policy), sleep_(std::move(sleep)) {
  if (!sleep_) sleep_ = [](absl::Duration d) { absl::SleepFor(d); };
}

absl::StatusOr<HttpResponse> RetryingHttpClient::Send(const HttpRequest& req) {
  const int attempts = std::max(policy_.max_attempts, 1);
  absl::Duration backoff = policy_.initial_backoff;
  for (int attempt = 1;; ++attempt) {
    absl::StatusOr<HttpResponse> result = inner_.Send(req);
    if (attempt >= attempts || !Retryable(result)) return result;

    absl::Duration delay = std::min(backoff, policy_.max_backoff);
    backoff = std::min(backoff * 2, policy_.max_backoff);
    if (result.ok()) {
      int64_t seconds = 0;
      const std::string retry_after = result->Header("Retry-After");
      if (absl::SimpleAtoi(retry_after, &seconds) && seconds >= 0) {
        delay = std::min(absl::Seconds(seconds), policy_.max_retry_after);
      }
    }
    if (delay < absl::ZeroDuration()) delay = absl::ZeroDuration();
    MakeLogger("http")->warn("http retry origin={} attempt={} of={} cause={} delay_ms={}",
                             UrlOrigin(req.url), attempt, attempts,
                             result.ok()
                                 ? absl::StrCat("HTTP ", result->status)
                                 : std::string(absl::StatusCodeToString(result.status().code())),
                             absl::ToInt64Milliseconds(delay));
    sleep_(delay);
  }
}

absl::StatusOr<std::string> LoadSecret(const std::string& file, const char* env) {
  if (!file.empty()) {
    const int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("cannot read secret file '", file, "'"));
    }
    std::string value;
    char buf[4096];
    int err = 0;
    while (true) {
      const ssize_t n = read(fd, buf, sizeof(buf));
      if (n < 0) {
        if (errno == EINTR) continue;
        err = errno;
        break;
      }
      if (n == 0) break;
      value.append(buf, static_cast<size_t>(n));
      if (value.size() > (size_t{1} << 20)) {
        close(fd);
        return absl::InvalidArgumentError(
            absl::StrCat("secret file '", file, "' is larger than 1 MiB"));
      }
    }
    close(fd);
    if (err != 0) {
      return absl::ErrnoToStatus(err, absl::StrCat("cannot read secret file '", file, "'"));
    }
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
    if (value.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("secret file '", file, "' is empty"));
    }
    return value;
  }
  if (env == nullptr || *env == '\0') {
    return absl::InvalidArgumentError("no secret file and no environment variable given");
  }
  const char* value = std::getenv(env);
  if (value == nullptr) return absl::NotFoundError(absl::StrCat(env, " is not set"));
  if (*value == '\0') return absl::InvalidArgumentError(absl::StrCat(env, " is empty"));
  return std::string(value);
}

absl::Status CheckSecret(const SecretRef& ref) {
  if (ref.file.empty() && std::getenv(ref.env.c_str()) == nullptr) {
    if (!ref.required) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat(ref.key, ": not set, and ", ref.env, " is not set"));
  }
  absl::StatusOr<std::string> secret = LoadSecret(ref.file, ref.env.c_str());
  if (!secret.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(ref.key, ": ", secret.status().message()));
  }
  return absl::OkStatus();
}

std::string DescribeSecret(const SecretRef& ref) {
  if (!ref.file.empty()) return absl::StrCat(ref.key, ": the file '", ref.file, "'");
  if (std::getenv(ref.env.c_str()) != nullptr) {
    return absl::StrCat(ref.key, ": unset: from $", ref.env, " (set)");
  }
  if (ref.required) return absl::StrCat(ref.key, ": unset: from $", ref.env, " (not set)");
  return absl::StrCat(ref.key, ": unset, and $", ref.env, " is not set: ", ref.otherwise);
}

}  // namespace goalkeeper
