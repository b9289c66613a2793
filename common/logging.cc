#include "common/logging.h"

#include <cstdlib>

#include "spdlog/sinks/stdout_sinks.h"

namespace goalkeeper {

std::shared_ptr<spdlog::logger> MakeLogger(const std::string& component) {
  if (auto existing = spdlog::get(component)) return existing;
  auto logger = spdlog::stderr_logger_mt(component);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %L %n %v");
  const char* level = std::getenv("GOALKEEPER_LOG_LEVEL");
  logger->set_level(level != nullptr ? spdlog::level::from_str(level)
                                     : spdlog::level::info);
  return logger;
}

}  // namespace goalkeeper
