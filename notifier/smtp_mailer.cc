#include "notifier/smtp_mailer.h"

#include <curl/curl.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/logging.h"
#include "notifier/email_render.h"

namespace goalkeeper {
namespace {

std::shared_ptr<spdlog::logger> Log() {
  static const std::shared_ptr<spdlog::logger> log = MakeLogger("notifier");
  return log;
}

// "scheme://host:port" of an smtp(s) URL, without credentials or path.
std::string Origin(absl::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) return "smtp";
  absl::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  size_t at = rest.rfind('@');
  if (at != absl::string_view::npos) rest = rest.substr(at + 1);
  return absl::StrCat(absl::AsciiStrToLower(url.substr(0, scheme_end)), "://", rest);
}

struct ReadState {
  absl::string_view data;
  size_t pos = 0;
};

size_t ReadCallback(char* buffer, size_t size, size_t nitems, void* userdata) {
  auto* st = static_cast<ReadState*>(userdata);
  size_t n = std::min(size * nitems, st->data.size() - st->pos);
  std::copy_n(st->data.data() + st->pos, n, buffer);
  st->pos += n;
  return n;
}

// What the SMTP dialogue showed, for error messages. Only command verbs and
// RCPT addresses are kept from what the client sent (AUTH lines carry the
// credentials); the server's replies are kept whole.
struct Transcript {
  std::string last_verb;   // of the last command sent: "MAIL", "RCPT", ...
  std::string last_rcpt;   // address of the last RCPT TO
  std::string last_reply;  // last (final) reply line from the server
  std::vector<std::pair<std::string, std::string>> rejected;  // rcpt, reply
  bool quitting = false;  // QUIT sent: what follows explains nothing
};

int DebugCallback(CURL*, curl_infotype type, char* data, size_t size, void* userdata) {
  auto* t = static_cast<Transcript*>(userdata);
  absl::string_view text(data, size);
  if (t->quitting) return 0;
  if (type == CURLINFO_HEADER_OUT) {
    absl::string_view verb = text.substr(0, text.find_first_of(" \r\n"));
    std::string upper = absl::AsciiStrToUpper(verb);
    static constexpr absl::string_view kVerbs[] = {"EHLO", "HELO", "STARTTLS", "AUTH", "MAIL",
                                                   "RCPT", "DATA", "QUIT",     "RSET", "NOOP"};
    bool known = std::find(std::begin(kVerbs), std::end(kVerbs), upper) != std::end(kVerbs);
    if (upper == "QUIT") {
      t->quitting = true;
      return 0;
    }
    t->last_verb = known ? upper : "AUTH";  // continuation lines of AUTH
    if (upper == "RCPT") {
      size_t lt = text.find('<');
      size_t gt = text.find('>');
      t->last_rcpt = (lt != absl::string_view::npos && gt != absl::string_view::npos && gt > lt)
                         ? std::string(text.substr(lt + 1, gt - lt - 1))
                         : "";
    }
  } else if (type == CURLINFO_HEADER_IN) {
    for (absl::string_view line : absl::StrSplit(text, "\r\n", absl::SkipEmpty())) {
      // Final reply line: "250 ..." (a '-' in the fourth place continues).
      if (line.size() >= 3 && (line.size() == 3 || line[3] == ' ')) {
        t->last_reply = StripControls(line.substr(0, 300));
        if (t->last_verb == "RCPT" && line[0] != '2') {
          t->rejected.emplace_back(t->last_rcpt, t->last_reply);
        }
      }
    }
  }
  return 0;
}

class SmtpMailer : public Mailer {
 public:
  explicit SmtpMailer(SmtpConfig config) : config_(std::move(config)) {}
  SmtpMailer(const SmtpMailer&) = delete;
  SmtpMailer& operator=(const SmtpMailer&) = delete;

  absl::Status Send(const EmailMessage& message) override {
    absl::Status s = SendImpl(message);
    if (s.ok()) return s;
    // Belt and braces: nothing we report may contain the password.
    std::string msg(s.message());
    if (config_.password.size() >= 4) {
      absl::StrReplaceAll({{config_.password, "<redacted>"}}, &msg);
    }
    return absl::Status(s.code(), msg);
  }

 private:
  absl::Status SendImpl(const EmailMessage& message) {
    const std::string origin = Origin(config_.url);
    bool smtps = absl::StartsWithIgnoreCase(config_.url, "smtps://");
    if (!smtps && !absl::StartsWithIgnoreCase(config_.url, "smtp://")) {
      return absl::FailedPreconditionError(
          absl::StrCat("smtp: url '", origin, "' must start with smtp:// or smtps://"));
    }
    EmailMessage m = CompleteMessage(message);
    Mailbox from = ParseMailbox(m.from);
    if (!ValidEnvelopeAddress(from.address)) {
      return absl::InvalidArgumentError(
          absl::StrCat("smtp: from '", absl::CHexEscape(m.from), "' is not an email address"));
    }
    std::vector<std::string> rcpts;
    for (const std::vector<std::string>* list : {&m.to, &m.cc}) {
      for (const std::string& r : *list) {
        Mailbox mb = ParseMailbox(r);
        if (!ValidEnvelopeAddress(mb.address)) {
          return absl::InvalidArgumentError(
              absl::StrCat("smtp: recipient '", absl::CHexEscape(r), "' is not an email address"));
        }
        std::string key = absl::AsciiStrToLower(mb.address);
        bool dup = std::any_of(rcpts.begin(), rcpts.end(), [&](const std::string& x) {
          return absl::AsciiStrToLower(x) == key;
        });
        if (!dup) rcpts.push_back(mb.address);
      }
    }
    if (rcpts.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("smtp: message ", m.message_id, " has no recipients"));
    }
    const std::string payload = RenderCompletedMessage(m);

    CURL* h = curl_easy_init();
    if (h == nullptr) return absl::InternalError("smtp: curl_easy_init failed");
    curl_slist* rcpt_list = nullptr;
    for (const std::string& r : rcpts) {
      rcpt_list = curl_slist_append(rcpt_list, absl::StrCat("<", r, ">").c_str());
    }
    const std::string mail_from = absl::StrCat("<", from.address, ">");
    ReadState read{payload, 0};
    Transcript transcript;
    char errbuf[CURL_ERROR_SIZE] = {0};
    const long timeout_ms =
        static_cast<long>(std::max<int64_t>(1, absl::ToInt64Milliseconds(config_.timeout)));
    const long connect_ms = std::min(timeout_ms, 15000L);

    curl_easy_setopt(h, CURLOPT_URL, config_.url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, mail_from.c_str());
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt_list);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT_ALLLOWFAILS, 1L);
    // Never CURLUSESSL_TRY: it silently falls back to plain text.
    curl_easy_setopt(h, CURLOPT_USE_SSL,
                     (smtps || config_.require_starttls) ? static_cast<long>(CURLUSESSL_ALL)
                                                         : static_cast<long>(CURLUSESSL_NONE));
    if (!config_.username.empty()) {
      curl_easy_setopt(h, CURLOPT_USERNAME, config_.username.c_str());
      curl_easy_setopt(h, CURLOPT_PASSWORD, config_.password.c_str());
    }
    if (!config_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, config_.ca_file.c_str());
    curl_easy_setopt(h, CURLOPT_READFUNCTION, ReadCallback);
    curl_easy_setopt(h, CURLOPT_READDATA, &read);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(payload.size()));
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, DebugCallback);
    curl_easy_setopt(h, CURLOPT_DEBUGDATA, &transcript);
    curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);

    CURLcode rc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    // Before cleanup, which may still talk (QUIT) through the debug callback.
    curl_easy_setopt(h, CURLOPT_VERBOSE, 0L);
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, nullptr);
    curl_easy_cleanup(h);
    curl_slist_free_all(rcpt_list);

    if (rc == CURLE_OK) {
      for (const auto& [rcpt, reply] : transcript.rejected) {
        Log()->warn("smtp recipient rejected message_id={} rcpt={} reply=\"{}\"", m.message_id,
                    rcpt, reply);
      }
      Log()->info("smtp sent message_id={} server={} recipients={} rejected={}", m.message_id,
                  origin, rcpts.size(), transcript.rejected.size());
      return absl::OkStatus();
    }
    return MapError(rc, code, errbuf, transcript, origin, m.message_id);
  }

  absl::Status MapError(CURLcode rc, long code, const char* errbuf, const Transcript& t,
                        const std::string& origin, const std::string& message_id) const {
    std::string detail = errbuf[0] != '\0' ? std::string(errbuf) : curl_easy_strerror(rc);
    // Only an error reply explains anything ("250 HELP" after EHLO does not).
    bool error_reply = !t.last_reply.empty() && (t.last_reply[0] == '4' || t.last_reply[0] == '5');
    std::string reply = error_reply ? absl::StrCat(" (server: ", t.last_reply, ")") : "";
    auto text = [&](absl::string_view what) {
      return absl::StrCat("smtp ", origin, ": message ", message_id, ": ", what, reply);
    };
    switch (rc) {
      case CURLE_LOGIN_DENIED:
        return absl::PermissionDeniedError(
            text(absl::StrCat("authentication as '", config_.username, "' refused")));
      case CURLE_USE_SSL_FAILED:
        return absl::FailedPreconditionError(
            text("the server does not offer STARTTLS and TLS is required; nothing was sent"));
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_CERTPROBLEM:
        return absl::FailedPreconditionError(
            text(absl::StrCat("TLS verification failed: ", detail)));
      case CURLE_UNSUPPORTED_PROTOCOL:
      case CURLE_URL_MALFORMAT:
        return absl::FailedPreconditionError(text(absl::StrCat("bad url: ", detail)));
      case CURLE_OPERATION_TIMEDOUT:
        return absl::UnavailableError(
            text(absl::StrCat("timed out after ", absl::FormatDuration(config_.timeout))));
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_CONNECT:
        return absl::UnavailableError(text(absl::StrCat("cannot connect: ", detail)));
      default:
        break;
    }
    if (code >= 400 && code < 500) {
      return absl::UnavailableError(
          text(absl::StrCat("temporary failure ", code, "; try again later")));
    }
    if (code == 530 || code == 534 || code == 535 || code == 538) {
      return absl::PermissionDeniedError(
          text(absl::StrCat("the server requires authentication or TLS (", code, ")")));
    }
    if (code >= 500 && code < 600) {
      if (t.last_verb == "RCPT") {
        for (const auto& rejected : t.rejected) {
          if (rejected.second[0] == '4') {  // one of them may work later
            return absl::UnavailableError(
                text(absl::StrCat("every recipient was rejected, some temporarily (", code, ")")));
          }
        }
        return absl::InvalidArgumentError(
            text(absl::StrCat("every recipient was rejected (", code, ")")));
      }
      if (t.last_verb == "MAIL") {
        return absl::InvalidArgumentError(text(absl::StrCat("sender rejected (", code, ")")));
      }
      return absl::InvalidArgumentError(text(absl::StrCat("message rejected (", code, ")")));
    }
    // Resets, TLS handshakes that fail, garbled replies: try again later.
    return absl::UnavailableError(text(detail));
  }

  const SmtpConfig config_;
};

}  // namespace

std::unique_ptr<Mailer> MakeSmtpMailer(SmtpConfig config) {
  return std::make_unique<SmtpMailer>(std::move(config));
}

}  // namespace goalkeeper
