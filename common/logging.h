// Logging setup: one named spdlog logger per component, writing key=value
// lines to stderr. Every line is one line: control characters in the
// formatted message (a scan id with a newline, a name with an escape
// sequence) are escaped centrally, so no logged field can forge a line.
//
//   std::shared_ptr<spdlog::logger> log = goalkeeper::MakeLogger("worker");
//   log->info("scan done probes={} open={}", n, open);
//   log->info("scan={}", "a\nb");   // ... I worker scan=a\nb
//
// Thread-safety: the returned logger is thread-safe.
#ifndef GOALKEEPER_COMMON_LOGGING_H_
#define GOALKEEPER_COMMON_LOGGING_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "spdlog/spdlog.h"

// Lets spdlog/fmt format absl::string_view (a distinct type in Debian's Abseil).
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<fmt::string_view> {
  template <typename FormatContext>
  auto format(absl::string_view v, FormatContext& ctx) const {
    return fmt::formatter<fmt::string_view>::format(fmt::string_view(v.data(), v.size()), ctx);
  }
};

namespace goalkeeper {

// Returns the logger named `component`, creating it on first use. The level
// comes from GOALKEEPER_LOG_LEVEL (trace, debug, info, warn, error), default
// info.
std::shared_ptr<spdlog::logger> MakeLogger(const std::string& component);

// `text` with '\n', '\r' and '\t' shown as \n, \r, \t and the other C0
// controls and DEL as \xNN ("\x1b"); everything else (UTF-8 too) as is.
std::string EscapeLogText(absl::string_view text);

// The pattern MakeLogger's loggers use: time, level, logger name, then the
// message escaped by EscapeLogText (a custom "%*" flag).
std::unique_ptr<spdlog::formatter> MakeLogFormatter();

}  // namespace goalkeeper

#endif  // GOALKEEPER_COMMON_LOGGING_H_
