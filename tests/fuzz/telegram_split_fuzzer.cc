// SplitTelegramMessage and EscapeTelegramHtml on arbitrary input.
//
// Input: the first byte picks the limit (1..256, or 4096 when it is 0), the
// rest is the message. Checks:
// - no part is empty or whitespace only, none exceeds the limit in code
//   points (valid UTF-8), none starts or ends inside a UTF-8 sequence;
// - no cut falls inside a tag ('<' to the next '>' with no '<' between, on
//   one line) or an entity ('&' + 1..32 of [A-Za-z0-9#] + ';') that fits in
//   the limit (a longer one cannot be kept whole);
// - when no line is longer than the limit, joining the parts with '\n'
//   gives the input back (exactly, unless whitespace-only stretches were
//   dropped; then it matches with all whitespace removed);
// - EscapeTelegramHtml leaves no '<', '>' or '"' and unescapes back to the
//   input.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "notifier/telegram.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "telegram_split_fuzzer: %s\n", what);
    std::abort();
  }
}

bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xc0) == 0x80; }

bool ValidUtf8(absl::string_view s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >= 0xc2 && c <= 0xdf) ? 2 : (c >= 0xe0 && c <= 0xef) ? 3
                            : (c >= 0xf0 && c <= 0xf4) ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if (!IsContinuation(s[i + k])) return false;
    }
    // Overlong / surrogate / > U+10FFFF forms are not at issue here.
    i += n;
  }
  return true;
}

size_t CodePoints(absl::string_view s) {
  size_t n = 0;
  for (char c : s) n += !IsContinuation(c);
  return n;
}

bool IsBlankChar(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string WithoutWhitespace(absl::string_view s) {
  std::string out;
  for (char c : s) {
    if (!IsBlankChar(c)) out += c;
  }
  return out;
}

// [begin, end) byte ranges of tags and entities in `text` (which may hold
// several lines), found independently of the implementation.
std::vector<std::pair<size_t, size_t>> Units(absl::string_view text) {
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '<') {
      size_t j = i + 1;
      while (j < text.size() && text[j] != '<' && text[j] != '>' && text[j] != '\n') ++j;
      if (j < text.size() && text[j] == '>') {
        out.emplace_back(i, j + 1);
        i = j;
      }
    } else if (text[i] == '&') {
      size_t j = i + 1;
      while (j < text.size() && j - i - 1 < 32 &&
             ((text[j] >= 'a' && text[j] <= 'z') || (text[j] >= 'A' && text[j] <= 'Z') ||
              (text[j] >= '0' && text[j] <= '9') || text[j] == '#')) {
        ++j;
      }
      if (j > i + 1 && j < text.size() && text[j] == ';') {
        out.emplace_back(i, j + 1);
        i = j;
      }
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t limit = data[0] == 0 ? 4096 : (data[0] % 128) + 1 + (data[0] >= 128 ? 128 : 0);
  const absl::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const bool valid = ValidUtf8(input);

  std::vector<std::string> parts = goalkeeper::SplitTelegramMessage(input, limit);

  // Locate each part in the input: parts come in order, separated by at most
  // a '\n' and dropped whitespace.
  std::vector<std::pair<size_t, size_t>> spans;
  size_t cursor = 0;
  for (const std::string& p : parts) {
    Check(!p.empty() && !WithoutWhitespace(p).empty(), "empty or whitespace-only part");
    if (valid) {
      Check(CodePoints(p) <= limit, "part longer than the limit");
      Check(ValidUtf8(p), "part splits a UTF-8 sequence");
    } else {
      Check(p.size() <= 4 * limit, "part longer than the limit (bytes)");
    }
    size_t at = cursor;
    while (at < input.size() && input.compare(at, p.size(), p) != 0) {
      Check(IsBlankChar(input[at]), "part not found where expected");
      ++at;
    }
    Check(input.compare(at, p.size(), p) == 0, "part not in the input");
    spans.emplace_back(at, at + p.size());
    cursor = at + p.size();
  }
  Check(WithoutWhitespace(input.substr(cursor)).empty(), "input left over");

  // No cut inside a tag or an entity that fits in the limit.
  std::vector<size_t> cuts;
  for (const auto& [b, e] : spans) {
    cuts.push_back(b);
    cuts.push_back(e);
  }
  for (const auto& [b, e] : Units(input)) {
    // (Invalid UTF-8: the implementation counts a stray byte as a character;
    // a unit no longer than the limit in bytes certainly fits.)
    absl::string_view unit = input.substr(b, e - b);
    if ((valid ? CodePoints(unit) : unit.size()) > limit) continue;
    for (size_t c : cuts) Check(c <= b || c >= e, "cut inside a tag or an entity");
  }

  // Round trip when no line is over-long.
  bool long_line = false;
  for (absl::string_view line : absl::StrSplit(input, '\n')) {
    if ((valid ? CodePoints(line) : line.size()) > limit) long_line = true;
  }
  if (valid && !long_line) {
    std::string joined = absl::StrJoin(parts, "\n");
    bool blank_stretch = false;
    for (absl::string_view line : absl::StrSplit(input, '\n')) {
      if (WithoutWhitespace(line).empty()) blank_stretch = true;
    }
    if (!blank_stretch) Check(joined == input, "join of parts differs from the input");
    Check(WithoutWhitespace(joined) == WithoutWhitespace(input), "parts lost text");
  }

  // Escaping.
  std::string escaped = goalkeeper::EscapeTelegramHtml(input);
  Check(escaped.find_first_of("<>\"") == std::string::npos, "unescaped markup");
  std::string back = absl::StrReplaceAll(
      escaped, {{"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&amp;", "&"}});
  Check(back == input, "escape does not round-trip");
  for (const std::string& p : goalkeeper::SplitTelegramMessage(escaped, limit)) {
    if (valid) Check(CodePoints(p) <= limit, "escaped part longer than the limit");
  }
  return 0;
}
