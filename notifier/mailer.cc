#include "notifier/mailer.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/logging.h"
#include "common/utf8.h"

namespace goalkeeper {
namespace {

// Header lines are folded to stay at or under this many octets (RFC 5322
// recommends < 78); no line can exceed 998.
constexpr size_t kFoldAt = 76;
// A single unbreakable header token longer than this switches the Subject to
// encoded words (which can be split anywhere).
constexpr size_t kMaxHeaderToken = 900;
// Longest addr-spec accepted (RFC 5321 path limit minus the brackets).
constexpr size_t kMaxAddress = 254;
// Longest Message-ID kept (an .eml file name must stay under 255 octets).
constexpr size_t kMaxMessageId = 200;

std::shared_ptr<spdlog::logger> Log() {
  static const std::shared_ptr<spdlog::logger> log = MakeLogger("notifier");
  return log;
}

std::string RandomHex(int bytes) {
  std::random_device rd;
  std::string out;
  out.reserve(static_cast<size_t>(bytes) * 2);
  for (int i = 0; i < bytes; ++i) {
    out += absl::StrFormat("%02x", rd() & 0xffu);
  }
  return out;
}

// Replaces CR, LF and the other control characters with spaces: nothing a
// caller passes can start a new header line.
std::string StripControls(absl::string_view s) {
  std::string out(s);
  for (char& c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  return out;
}

bool IsPrintableAscii(absl::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f;
  });
}

// RFC 2047 "B" encoded words, each holding whole UTF-8 characters and at
// most `max_octets` octets of text (45 octets = 60 base64 characters, so a
// word plus its folding space stays within kFoldAt).
std::vector<std::string> EncodedWords(absl::string_view text, size_t first_max_octets,
                                      size_t max_octets = 45) {
  std::vector<std::string> words;
  size_t i = 0;
  size_t limit = first_max_octets;
  while (i < text.size()) {
    size_t end = i;
    while (end < text.size()) {
      size_t n = Utf8SequenceLength(text, end);
      if (end + n - i > limit && end > i) break;
      end += n;
    }
    words.push_back(absl::StrCat("=?UTF-8?B?", absl::Base64Escape(text.substr(i, end - i)), "?="));
    i = end;
    limit = max_octets;
  }
  return words;
}

// One piece of a header value: the whitespace before it (a fold may go in
// front of that whitespace) and the unbreakable text.
struct HeaderToken {
  std::string space;
  std::string text;
};

// "Name: token token..." with CRLF folds so lines stay within kFoldAt where
// the tokens allow it. Ends with CRLF.
std::string FoldHeader(absl::string_view name, const std::vector<HeaderToken>& tokens) {
  std::string out = absl::StrCat(name, ":");
  size_t line = out.size();
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string space = tokens[i].space.empty() && i == 0 ? " " : tokens[i].space;
    size_t add = space.size() + tokens[i].text.size();
    if (line + add > kFoldAt && line > name.size() + 1 && !space.empty()) {
      out += "\r\n";
      line = 0;
    }
    out += space;
    out += tokens[i].text;
    line += add;
  }
  if (tokens.empty()) out += " ";
  out += "\r\n";
  return out;
}

std::string SubjectHeader(absl::string_view raw) {
  std::string subject = StripControls(raw);
  // Tokens: a whitespace run and the word after it.
  std::vector<HeaderToken> tokens;
  size_t i = 0;
  while (i < subject.size()) {
    HeaderToken t;
    while (i < subject.size() && subject[i] == ' ') t.space += subject[i++];
    while (i < subject.size() && subject[i] != ' ') t.text += subject[i++];
    tokens.push_back(std::move(t));
  }
  bool encode = !IsPrintableAscii(subject) || absl::StrContains(subject, "=?");
  for (const HeaderToken& t : tokens) {
    if (t.space.size() + t.text.size() > kMaxHeaderToken) encode = true;
  }
  if (!encode) {
    if (!tokens.empty() && tokens[0].space.empty()) tokens[0].space.push_back(' ');
    return FoldHeader("Subject", tokens);
  }
  tokens.clear();
  // "Subject: " + 12 octets of markup + 52 base64 characters (39 octets).
  for (std::string& w : EncodedWords(subject, 39)) tokens.push_back({" ", std::move(w)});
  return FoldHeader("Subject", tokens);
}

struct Mailbox {
  std::string display;  // may be empty
  std::string address;  // addr-spec
};

// "addr@host" or "Display Name <addr@host>" (display optionally quoted).
Mailbox ParseMailbox(absl::string_view raw) {
  std::string s = StripControls(raw);
  absl::string_view v = absl::StripAsciiWhitespace(s);
  Mailbox m;
  size_t lt = v.rfind('<');
  if (lt != absl::string_view::npos && absl::EndsWith(v, ">")) {
    m.address = std::string(absl::StripAsciiWhitespace(v.substr(lt + 1, v.size() - lt - 2)));
    absl::string_view d = absl::StripAsciiWhitespace(v.substr(0, lt));
    if (d.size() >= 2 && d.front() == '"' && d.back() == '"') d = d.substr(1, d.size() - 2);
    m.display = absl::StrReplaceAll(d, {{"\\\"", "\""}, {"\\\\", "\\"}});
  } else {
    m.address = std::string(v);
  }
  return m;
}

// What the envelope (MAIL FROM / RCPT TO) may carry: no spaces, controls,
// angle brackets or commas, one '@' with text on both sides.
bool ValidAddress(absl::string_view a) {
  if (a.empty() || a.size() > kMaxAddress) return false;
  for (char c : a) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '<' || c == '>' || c == ',' || c == '"' || c == '(' ||
        c == ')' || c == ';' || c == '\\') {
      return false;
    }
  }
  size_t at = a.rfind('@');
  return at != absl::string_view::npos && at > 0 && at + 1 < a.size();
}

bool IsAtext(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::StrContains("!#$%&'*+-/=?^_`{|}~ ", c);
}

// Header tokens for one mailbox; `last` gets no trailing comma.
void AppendMailboxTokens(const Mailbox& m, bool last, std::vector<HeaderToken>& out) {
  std::string addr = m.address.substr(0, kMaxAddress);
  if (!m.display.empty()) {
    if (IsPrintableAscii(m.display) && !absl::StrContains(m.display, "=?")) {
      bool plain = std::all_of(m.display.begin(), m.display.end(), IsAtext);
      std::string d = plain ? m.display
                            : absl::StrCat("\"",
                                           absl::StrReplaceAll(m.display,
                                                               {{"\\", "\\\\"}, {"\"", "\\\""}}),
                                           "\"");
      out.push_back({" ", d.substr(0, kMaxHeaderToken)});
    } else {
      for (std::string& w : EncodedWords(m.display, 45)) out.push_back({" ", std::move(w)});
    }
    addr = absl::StrCat("<", addr, ">");
  }
  if (!last) addr += ",";
  out.push_back({" ", std::move(addr)});
}

std::string AddressHeader(absl::string_view name, const std::vector<std::string>& list) {
  std::vector<HeaderToken> tokens;
  for (size_t i = 0; i < list.size(); ++i) {
    AppendMailboxTokens(ParseMailbox(list[i]), i + 1 == list.size(), tokens);
  }
  return FoldHeader(name, tokens);
}

// "Sun, 22 Nov 2026 06:00:00 +0000" (English names whatever the locale).
std::string Rfc5322Date(absl::Time t) {
  static constexpr const char* kDays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  absl::CivilSecond c = absl::ToCivilSecond(t, absl::UTCTimeZone());
  absl::Weekday wd = absl::GetWeekday(c);
  return absl::StrFormat("%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[static_cast<int>(wd)],
                         c.day(), kMonths[c.month() - 1], c.year(), c.hour(), c.minute(),
                         c.second());
}

// Quoted-printable (RFC 2045 6.7) of text with '\n' (or "\r\n") line ends:
// CRLF line ends, every output line <= 76 octets, '=' always encoded (so
// "=_" never appears and can start a MIME boundary). Ends with CRLF.
std::string QuotedPrintable(absl::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8 + 8);
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  if (lines.size() > 1 && lines.back().empty()) lines.pop_back();  // text ended with '\n'
  for (absl::string_view line : lines) {
    if (absl::EndsWith(line, "\r")) line.remove_suffix(1);
    size_t len = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(line[i]);
      bool last = i + 1 == line.size();
      bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last);
      std::string piece = literal ? std::string(1, static_cast<char>(c))
                                  : absl::StrFormat("=%02X", static_cast<unsigned>(c));
      // Leave room for the soft break "=" (the line may end right here only
      // if this is the last piece).
      size_t room = last ? 76 : 75;
      if (len + piece.size() > room) {
        out += "=\r\n";
        len = 0;
      }
      out += piece;
      len += piece.size();
    }
    out += "\r\n";
  }
  return out;
}

// "<id@host>" with whitespace and controls removed; "" when nothing is left.
std::string NormalizeMessageId(absl::string_view raw) {
  std::string id;
  for (char c : raw) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u > 0x20 && u != 0x7f && c != '<' && c != '>') id += c;
  }
  if (id.empty() || id.size() > kMaxMessageId) return "";
  return absl::StrCat("<", id, ">");
}

// The message with a usable Message-ID and Date filled in.
EmailMessage Completed(const EmailMessage& m) {
  EmailMessage c = m;
  c.message_id = NormalizeMessageId(m.message_id);
  if (c.message_id.empty()) c.message_id = absl::StrCat("<", RandomHex(16), "@goalkeeper>");
  // An unset date (the epoch, absl::Time's default) means "now".
  if (c.date == absl::UnixEpoch() || c.date == absl::InfiniteFuture() ||
      c.date == absl::InfinitePast()) {
    c.date = absl::Now();
  }
  return c;
}

std::string RenderCompleted(const EmailMessage& m) {
  std::string out;
  out += absl::StrCat("Date: ", Rfc5322Date(m.date), "\r\n");
  out += AddressHeader("From", {m.from});
  if (!m.to.empty()) out += AddressHeader("To", m.to);
  if (!m.cc.empty()) out += AddressHeader("Cc", m.cc);
  out += SubjectHeader(m.subject);
  out += absl::StrCat("Message-ID: ", m.message_id, "\r\n");
  out += "Auto-Submitted: auto-generated\r\n";
  out += "MIME-Version: 1.0\r\n";
  constexpr absl::string_view kText =
      "Content-Type: text/plain; charset=UTF-8\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n";
  if (m.html_body.empty()) {
    absl::StrAppend(&out, kText);
    out += "\r\n";
    out += QuotedPrintable(m.text_body);
    return out;
  }
  // "=_" cannot occur in quoted-printable text, so the boundary cannot either.
  std::string boundary = absl::StrCat("=_gk_", RandomHex(16));
  out += absl::StrCat("Content-Type: multipart/alternative; boundary=\"", boundary, "\"\r\n");
  out += "\r\nThis is a multi-part message in MIME format.\r\n";
  out += absl::StrCat("--", boundary, "\r\n", kText, "\r\n", QuotedPrintable(m.text_body));
  out += absl::StrCat("\r\n--", boundary, "\r\n",
                      "Content-Type: text/html; charset=UTF-8\r\n"
                      "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                      QuotedPrintable(m.html_body));
  out += absl::StrCat("\r\n--", boundary, "--\r\n");
  return out;
}

// ---------------------------------------------------------------------------
// SMTP through libcurl.

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
  std::string last_verb;       // of the last command sent: "MAIL", "RCPT", ...
  std::string last_rcpt;       // address of the last RCPT TO
  std::string last_reply;      // last (final) reply line from the server
  std::vector<std::pair<std::string, std::string>> rejected;  // rcpt, reply
  bool quitting = false;       // QUIT sent: what follows explains nothing
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
    EmailMessage m = Completed(message);
    Mailbox from = ParseMailbox(m.from);
    if (!ValidAddress(from.address)) {
      return absl::InvalidArgumentError(
          absl::StrCat("smtp: from '", absl::CHexEscape(m.from), "' is not an email address"));
    }
    std::vector<std::string> rcpts;
    for (const std::vector<std::string>* list : {&m.to, &m.cc}) {
      for (const std::string& r : *list) {
        Mailbox mb = ParseMailbox(r);
        if (!ValidAddress(mb.address)) {
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
    const std::string payload = RenderCompleted(m);

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
    const long timeout_ms = static_cast<long>(
        std::max<int64_t>(1, absl::ToInt64Milliseconds(config_.timeout)));
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
            return absl::UnavailableError(text(
                absl::StrCat("every recipient was rejected, some temporarily (", code, ")")));
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

// ---------------------------------------------------------------------------
// Outbox folder.

// The file name for a Message-ID (without brackets): characters other than
// [A-Za-z0-9._@+=-] and a leading '.' become %XX, so the name is a plain,
// deterministic file name (no '/', never "." or "..").
std::string OutboxName(absl::string_view id) {
  std::string out;
  for (size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool keep = absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                (absl::StrContains("._@+=-", c) && !(i == 0 && c == '.'));
    out += keep ? std::string(1, c)
                : absl::StrFormat("%%%02X", static_cast<unsigned>(static_cast<unsigned char>(c)));
  }
  return out + ".eml";
}

absl::Status WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, "write");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

class OutboxMailer : public Mailer {
 public:
  explicit OutboxMailer(std::string dir) : dir_(std::move(dir)) {}
  OutboxMailer(const OutboxMailer&) = delete;
  OutboxMailer& operator=(const OutboxMailer&) = delete;

  absl::Status Send(const EmailMessage& message) override {
    if (!message.message_id.empty() && NormalizeMessageId(message.message_id).empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "outbox: Message-ID '", absl::CHexEscape(message.message_id.substr(0, 64)),
          "' is not usable (empty or longer than ", kMaxMessageId, " characters)"));
    }
    EmailMessage m = Completed(message);
    std::string id(absl::string_view(m.message_id).substr(1, m.message_id.size() - 2));
    std::string name = OutboxName(id);
    if (name.size() > 240) {
      return absl::InvalidArgumentError(
          absl::StrCat("outbox: Message-ID ", m.message_id, " is too long for a file name"));
    }
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) {
      return absl::Status(absl::ErrnoToStatusCode(ec.value()),
                          absl::StrCat("outbox: cannot create ", dir_, ": ", ec.message()));
    }
    const std::string payload = RenderCompleted(m);
    const std::string final_path = absl::StrCat(dir_, "/", name);
    // Hidden and without the .eml suffix, so readers never pick it up.
    const std::string tmp_path = absl::StrCat(dir_, "/.tmp-", RandomHex(8), "-", name, ".part");
    int fd = open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) return Errno(errno, "cannot create", tmp_path);
    absl::Status s = WriteAll(fd, payload);
    if (s.ok() && fsync(fd) != 0) s = absl::ErrnoToStatus(errno, "fsync");
    if (close(fd) != 0 && s.ok()) s = absl::ErrnoToStatus(errno, "close");
    if (s.ok() && rename(tmp_path.c_str(), final_path.c_str()) != 0) {
      s = absl::ErrnoToStatus(errno, "rename");
    }
    if (!s.ok()) {
      unlink(tmp_path.c_str());
      return absl::Status(s.code(), absl::StrCat("outbox: writing ", final_path, ": ",
                                                 s.message()));
    }
    // Make the rename durable.
    int dfd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      fsync(dfd);
      close(dfd);
    }
    Log()->info("outbox wrote message_id={} file={}", m.message_id, final_path);
    return absl::OkStatus();
  }

 private:
  static absl::Status Errno(int err, absl::string_view what, absl::string_view path) {
    return absl::ErrnoToStatus(err, absl::StrCat("outbox: ", what, " ", path));
  }

  const std::string dir_;
};

}  // namespace

std::string RenderMessage(const EmailMessage& m) { return RenderCompleted(Completed(m)); }

std::unique_ptr<Mailer> MakeSmtpMailer(SmtpConfig config) {
  return std::make_unique<SmtpMailer>(std::move(config));
}

std::unique_ptr<Mailer> MakeOutboxMailer(std::string dir) {
  return std::make_unique<OutboxMailer>(std::move(dir));
}

}  // namespace goalkeeper
