// The HttpClient seam: one request, one response. The libcurl implementation
// has connect and total timeouts, verifies TLS (CA file configurable), and
// sets CURLOPT_NOSIGNAL. A RetryingHttpClient wraps any client with retries
// and exponential backoff on transport errors, 5xx and 429 (honouring
// Retry-After). Tests use local HTTP fakes or a fake HttpClient.
//
//   std::unique_ptr<HttpClient> http = MakeCurlHttpClient(CurlOptions());
//   HttpRequest req;
//   req.url = "https://neutron:9696/v2.0/floatingips";
//   req.headers.push_back({"X-Auth-Token", token});
//   absl::StatusOr<HttpResponse> resp = http->Send(req);
//
// Errors never contain the request's path, query, headers or body (they may
// carry secrets, e.g. Telegram's bot token is in its URL): only the scheme,
// host and port, and what went wrong.
//
// Thread-safety: implementations are thread-safe.
#ifndef GOALKEEPER_COMMON_HTTP_CLIENT_H_
#define GOALKEEPER_COMMON_HTTP_CLIENT_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace goalkeeper {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  absl::Duration timeout = absl::Seconds(30);  // the whole request
};

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Case-insensitive; "" when absent.
  std::string Header(absl::string_view name) const;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Any HTTP status is a response. Transport failures are errors:
  // DeadlineExceeded (timeout), Unavailable (connect/TLS/reset); a response
  // over 64 MiB is ResourceExhausted, a malformed request InvalidArgument
  // (neither is retried).
  virtual absl::StatusOr<HttpResponse> Send(const HttpRequest& req) = 0;
};

struct CurlOptions {
  absl::Duration connect_timeout = absl::Seconds(5);
  std::string ca_file;  // "" = the system CA store
};
std::unique_ptr<HttpClient> MakeCurlHttpClient(CurlOptions options);

// "scheme://host:port" of a URL, for error messages and logs.
std::string UrlOrigin(absl::string_view url);

// Percent-encodes everything but RFC 3986's unreserved characters
// (A-Z a-z 0-9 - _ . ~), for a path segment or a query value.
std::string UrlEncode(absl::string_view s);

struct RetryPolicy {
  int max_attempts = 4;
  absl::Duration initial_backoff = absl::Milliseconds(500);
  absl::Duration max_backoff = absl::Seconds(10);
  absl::Duration max_retry_after = absl::Seconds(60);  // cap for a server's Retry-After
};

// Retries transport errors, 5xx and 429 on top of `inner`. `sleep` is the
// seam tests replace (the default sleeps).
class RetryingHttpClient : public HttpClient {
 public:
  RetryingHttpClient(HttpClient& inner, RetryPolicy policy,
                     std::function<void(absl::Duration)> sleep = nullptr);
  absl::StatusOr<HttpResponse> Send(const HttpRequest& req) override;

 private:
  HttpClient& inner_;
  RetryPolicy policy_;
  std::function<void(absl::Duration)> sleep_;
};

// Reads a secret: the file's contents (trailing newline trimmed) when `file`
// is set, else the environment variable `env`. Errors name the file or the
// variable, never the secret.
absl::StatusOr<std::string> LoadSecret(const std::string& file, const char* env);

// A secret a daemon reads at start, as its configuration names it (for
// --check-config, which checks it without keeping or printing it).
struct SecretRef {
  std::string key;        // the *_file key path, e.g. "email.password_file"
  std::string file;       // that file; "" = the environment variable
  std::string env;        // e.g. "GOALKEEPER_SMTP_PASSWORD"
  bool required = true;   // a start fails without it
  std::string otherwise;  // when not required: what happens without it
};

// Reads the secret as a start does (LoadSecret) and drops it. Errors are
// InvalidArgument and name the key and the file or the variable, never the
// value: "email.password_file: cannot read secret file '/run/secrets/smtp':
// No such file or directory", "email.password_file: not set, and
// GOALKEEPER_SMTP_PASSWORD is not set". A secret that is not required and
// has neither a file nor its variable is OK.
absl::Status CheckSecret(const SecretRef& ref);

// Where the secret comes from, in one line without its value:
// "email.password_file: the file '/run/secrets/smtp'", "email.password_file:
// unset: from $GOALKEEPER_SMTP_PASSWORD (set)".
std::string DescribeSecret(const SecretRef& ref);

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_HTTP_CLIENT_H_
