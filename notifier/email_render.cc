#include "notifier/email_render.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

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
      std::string d =
          plain ? m.display
                : absl::StrCat(
                      "\"", absl::StrReplaceAll(m.display, {{"\\", "\\\\"}, {"\"", "\\\""}}), "\"");
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

}  // namespace

std::string RandomHex(int bytes) {
  std::random_device rd;
  std::string out;
  out.reserve(static_cast<size_t>(bytes) * 2);
  for (int i = 0; i < bytes; ++i) {
    out += absl::StrFormat("%02x", rd() & 0xffu);
  }
  return out;
}

std::string StripControls(absl::string_view s) {
  std::string out(s);
  for (char& c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  return out;
}

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

bool ValidEnvelopeAddress(absl::string_view a) {
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

std::string NormalizeMessageId(absl::string_view raw) {
  std::string id;
  for (char c : raw) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u > 0x20 && u != 0x7f && c != '<' && c != '>') id += c;
  }
  if (id.empty() || id.size() > kMaxMessageId) return "";
  return absl::StrCat("<", id, ">");
}

EmailMessage CompleteMessage(const EmailMessage& m) {
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

std::string RenderCompletedMessage(const EmailMessage& m) {
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

std::string RenderMessage(const EmailMessage& m) {
  return RenderCompletedMessage(CompleteMessage(m));
}

}  // namespace goalkeeper
