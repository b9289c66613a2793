#include "notifier/telegram.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/logging.h"
#include "common/utf8.h"
#include "nlohmann/json.hpp"

namespace goalkeeper {
namespace {

// Longest entity recognised as one unit ("&amp;", "&#x1F600;"): '&', up to
// this many [A-Za-z0-9#] characters, ';'.
constexpr size_t kMaxEntityName = 32;
// Used when a 429 carries neither parameters.retry_after nor Retry-After.
constexpr absl::Duration kDefaultRetryAfter = absl::Seconds(5);
constexpr size_t kMaxDescription = 300;

std::shared_ptr<spdlog::logger> Log() {
  static const std::shared_ptr<spdlog::logger> log = MakeLogger("notifier");
  return log;
}

size_t CodePoints(absl::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); i += Utf8SequenceLength(s, i)) ++n;
  return n;
}

bool IsBlank(absl::string_view s) {
  return s.find_first_not_of(" \t\r\n") == absl::string_view::npos;
}

// An unbreakable unit of a line: a tag ("<b>", "<a href=\"...\">"), an
// entity ("&amp;") or one character.
struct Atom {
  size_t begin;
  size_t end;
  size_t chars;  // code points
  bool space;
};

// A tag is '<' up to the next '>' with no '<' in between; an entity is '&',
// 1..kMaxEntityName of [A-Za-z0-9#], ';'. Anything else is plain text.
std::vector<Atom> Atoms(absl::string_view line) {
  std::vector<Atom> atoms;
  size_t i = 0;
  while (i < line.size()) {
    size_t end = i + Utf8SequenceLength(line, i);
    if (line[i] == '<') {
      size_t j = line.find_first_of("<>", i + 1);
      if (j != absl::string_view::npos && line[j] == '>') end = j + 1;
    } else if (line[i] == '&') {
      size_t j = i + 1;
      while (j < line.size() && j - i - 1 < kMaxEntityName &&
             (absl::ascii_isalnum(static_cast<unsigned char>(line[j])) || line[j] == '#')) {
        ++j;
      }
      if (j > i + 1 && j < line.size() && line[j] == ';') end = j + 1;
    }
    atoms.push_back({i, end, CodePoints(line.substr(i, end - i)), line[i] == ' '});
    i = end;
  }
  return atoms;
}

// Cuts a line longer than `limit` characters into pieces of at most `limit`,
// between atoms, preferring the last space in the second half of a piece.
// An atom longer than the limit on its own (a giant tag) is cut between
// characters: there is no way to keep it whole.
void CutLine(absl::string_view line, size_t limit, std::vector<std::string>& out) {
  std::vector<Atom> atoms = Atoms(line);
  auto emit = [&](size_t begin, size_t end) {
    absl::string_view piece = line.substr(begin, end - begin);
    if (!IsBlank(piece)) out.emplace_back(piece);
  };
  size_t start = 0;
  while (start < atoms.size()) {
    size_t len = 0;
    size_t k = start;
    size_t after_space = 0;  // atom index just after the last space, 0 = none
    size_t len_at_space = 0;
    while (k < atoms.size() && len + atoms[k].chars <= limit) {
      len += atoms[k].chars;
      if (atoms[k].space) {
        after_space = k + 1;
        len_at_space = len;
      }
      ++k;
    }
    if (k == start) {  // one atom longer than the limit
      const Atom& a = atoms[k];
      size_t b = a.begin;
      while (b < a.end) {
        size_t e = b;
        for (size_t n = 0; n < limit && e < a.end; ++n) e += Utf8SequenceLength(line, e);
        emit(b, e);
        b = e;
      }
      start = k + 1;
      continue;
    }
    size_t end_k = k;
    if (k < atoms.size() && after_space > start && after_space < k && len_at_space * 2 >= limit) {
      end_k = after_space;
    }
    emit(atoms[start].begin, atoms[end_k - 1].end);
    start = end_k;
  }
}

std::string Scrub(absl::string_view text, const std::string& token) {
  std::string out(text);
  if (!token.empty()) absl::StrReplaceAll({{token, "<token>"}}, &out);
  return out;
}

nlohmann::json ChatIdJson(const std::string& chat_id) {
  absl::string_view digits = chat_id;
  if (!digits.empty() && digits.front() == '-') digits.remove_prefix(1);
  int64_t id = 0;
  if (!digits.empty() && std::all_of(digits.begin(), digits.end(), [](char c) {
        return c >= '0' && c <= '9';
      }) && absl::SimpleAtoi(chat_id, &id)) {
    return id;
  }
  return chat_id;
}

class BotSender : public TelegramSender {
 public:
  BotSender(std::string api_url, std::string token, HttpClient& http)
      : api_url_(std::move(api_url)), token_(std::move(token)), http_(http) {
    while (!api_url_.empty() && api_url_.back() == '/') api_url_.pop_back();
  }
  BotSender(const BotSender&) = delete;
  BotSender& operator=(const BotSender&) = delete;

  TelegramResult Send(const std::string& chat_id, const std::string& html) override {
    TelegramResult r;
    if (chat_id.empty()) {
      r.status = absl::InvalidArgumentError("telegram sendMessage: chat_id is empty");
      return r;
    }
    if (IsBlank(html)) {
      r.status = absl::InvalidArgumentError("telegram sendMessage: the message text is empty");
      return r;
    }
    nlohmann::json body = {{"chat_id", ChatIdJson(chat_id)},
                           {"text", html},
                           {"parse_mode", "HTML"},
                           {"link_preview_options", {{"is_disabled", true}}}};
    HttpRequest req;
    req.method = "POST";
    req.url = absl::StrCat(api_url_, "/bot", token_, "/sendMessage");
    req.headers.push_back({"Content-Type", "application/json"});
    // Invalid UTF-8 becomes U+FFFD instead of throwing.
    req.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);

    absl::StatusOr<HttpResponse> resp = http_.Send(req);
    if (!resp.ok()) {
      // A bad api_url stays a configuration error; anything else (refused,
      // reset, timed out) is worth another try later.
      std::string msg =
          absl::StrCat("telegram sendMessage: ", Scrub(resp.status().message(), token_));
      r.status = resp.status().code() == absl::StatusCode::kInvalidArgument
                     ? absl::InvalidArgumentError(msg)
                     : absl::UnavailableError(msg);
      return r;
    }
    nlohmann::json j = nlohmann::json::parse(resp->body, nullptr, /*allow_exceptions=*/false);
    bool ok = j.is_object() && j.contains("ok") && j["ok"].is_boolean() && j["ok"].get<bool>();
    if (resp->status >= 200 && resp->status < 300 && ok) return r;

    int status = resp->status;
    if (status >= 200 && status < 300 && j.is_object() && j.contains("error_code") &&
        j["error_code"].is_number_integer()) {
      status = j["error_code"].get<int>();  // {"ok":false} with HTTP 200
    }
    std::string description;
    if (j.is_object() && j.contains("description") && j["description"].is_string()) {
      description = j["description"].get<std::string>();
    }
    if (description.empty()) description = "no description";
    if (description.size() > kMaxDescription) description.resize(kMaxDescription);
    std::string msg = Scrub(absl::StrCat("telegram sendMessage: HTTP ", status, ": ",
                                         absl::StrReplaceAll(description, {{"\n", " "}})),
                            token_);
    if (status == 429) {
      r.retry_after = RetryAfter(j, *resp);
      r.status = absl::ResourceExhaustedError(msg);
    } else if (status >= 500 || status < 200) {
      r.status = absl::UnavailableError(msg);
    } else if (status == 401 || status == 403 || status == 404) {
      r.status = absl::PermissionDeniedError(msg);
    } else if (status >= 200 && status < 300) {
      r.status = absl::InternalError(
          absl::StrCat("telegram sendMessage: HTTP ", status, ": response is not {\"ok\":true}"));
    } else {
      r.status = absl::InvalidArgumentError(msg);
    }
    return r;
  }

 private:
  static absl::Duration RetryAfter(const nlohmann::json& j, const HttpResponse& resp) {
    if (j.is_object() && j.contains("parameters") && j["parameters"].is_object()) {
      const nlohmann::json& p = j["parameters"];
      if (p.contains("retry_after") && p["retry_after"].is_number()) {
        double s = p["retry_after"].get<double>();
        if (s >= 0 && s < 86400) return absl::Seconds(s);
      }
    }
    for (const auto& [name, value] : resp.headers) {
      int64_t s = 0;
      if (absl::EqualsIgnoreCase(name, "Retry-After") && absl::SimpleAtoi(value, &s) && s >= 0 &&
          s < 86400) {
        return absl::Seconds(s);
      }
    }
    return kDefaultRetryAfter;
  }

  std::string api_url_;
  const std::string token_;
  HttpClient& http_;
};

class LogSender : public TelegramSender {
 public:
  TelegramResult Send(const std::string& chat_id, const std::string& html) override {
    Log()->info("telegram chat={} text={}", chat_id,
                absl::StrReplaceAll(html, {{"\r", "\\r"}, {"\n", "\\n"}}));
    return {};
  }
};

}  // namespace

std::string EscapeTelegramHtml(absl::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<std::string> SplitTelegramMessage(absl::string_view html, size_t limit) {
  if (limit == 0) limit = 1;
  std::vector<std::string> parts;
  std::string cur;
  size_t cur_len = 0;
  bool have_part = false;
  auto flush = [&] {
    // Whitespace-only parts are dropped: Telegram refuses them.
    if (have_part && !IsBlank(cur)) parts.push_back(std::move(cur));
    cur.clear();
    cur_len = 0;
    have_part = false;
  };
  for (absl::string_view line : absl::StrSplit(html, '\n')) {
    size_t n = CodePoints(line);
    if (n > limit) {
      flush();
      CutLine(line, limit, parts);
      continue;
    }
    if (have_part && cur_len + 1 + n <= limit) {
      cur += '\n';
      cur.append(line.data(), line.size());
      cur_len += 1 + n;
    } else {
      flush();
      cur.assign(line.data(), line.size());
      cur_len = n;
      have_part = true;
    }
  }
  flush();
  return parts;
}

std::unique_ptr<TelegramSender> MakeTelegramBotSender(std::string api_url, std::string token,
                                                      HttpClient& http) {
  return std::make_unique<BotSender>(std::move(api_url), std::move(token), http);
}

std::unique_ptr<TelegramSender> MakeLogTelegramSender() { return std::make_unique<LogSender>(); }

}  // namespace goalkeeper
