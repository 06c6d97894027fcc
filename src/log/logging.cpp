#include "flowgrpo/log/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <mutex>
#include <stdexcept>

namespace flowgrpo::log {

namespace {

Level initial_level();

struct State {
  State() : effective(initial_level()) {}
  std::mutex mutex;
  Options options;
  Level effective;
  std::shared_ptr<spdlog::sinks::sink> sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  std::map<std::string, std::shared_ptr<spdlog::logger>, std::less<>> loggers;
};

// Before configure() runs, honour the environment variable if it is valid.
Level initial_level() {
  const char* env = std::getenv(kLevelEnvironmentVariable);
  if (env == nullptr || *env == '\0') return Level::kInfo;
  try {
    return parse_level(env);
  } catch (const std::invalid_argument&) {
    return Level::kInfo;  // configure() reports the bad value
  }
}

State& state() {
  static State s;
  return s;
}

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::kTrace: return spdlog::level::trace;
    case Level::kDebug: return spdlog::level::debug;
    case Level::kInfo: return spdlog::level::info;
    case Level::kWarn: return spdlog::level::warn;
    case Level::kError: return spdlog::level::err;
    case Level::kOff: return spdlog::level::off;
  }
  return spdlog::level::info;
}

// Level for this rank: ranks other than 0 stay quiet below warn unless asked.
spdlog::level::level_enum rank_level(const State& s) {
  Level level = s.effective;
  if (s.options.rank != 0 && !s.options.info_on_all_ranks) level = std::max(level, Level::kWarn);
  return to_spdlog(level);
}

std::string pattern_for(const Options& o) {
  std::string rank = o.world_size > 1 ? "[rank " + std::to_string(o.rank) + "] " : "";
  return "[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] " + rank + "[%n] %v";
}

void apply(State& s, spdlog::logger& logger) {
  logger.set_level(rank_level(s));
  logger.set_pattern(pattern_for(s.options));
}

}  // namespace

std::string to_string(Level level) {
  switch (level) {
    case Level::kTrace: return "trace";
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
    case Level::kOff: return "off";
  }
  return "?";
}

Level parse_level(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (Level l : {Level::kTrace, Level::kDebug, Level::kInfo, Level::kWarn, Level::kError, Level::kOff})
    if (lower == to_string(l)) return l;
  if (lower == "warning") return Level::kWarn;
  throw std::invalid_argument("unknown log level '" + std::string(name) +
                              "' (expected one of: trace, debug, info, warn, error, off)");
}

void configure(const Options& options) {
  Level level = options.level;
  if (const char* env = std::getenv(kLevelEnvironmentVariable); env != nullptr && *env != '\0') {
    try {
      level = parse_level(env);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(std::string("environment variable ") + kLevelEnvironmentVariable + ": " +
                                  e.what());
    }
  }
  auto& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.options = options;
  s.effective = level;
  for (auto& [name, logger] : s.loggers) apply(s, *logger);
}

Level effective_level() {
  auto& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.effective;
}

std::shared_ptr<spdlog::logger> get(std::string_view component) {
  auto& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (auto it = s.loggers.find(component); it != s.loggers.end()) return it->second;
  auto logger = std::make_shared<spdlog::logger>(std::string(component), s.sink);
  apply(s, *logger);
  s.loggers.emplace(std::string(component), logger);
  return logger;
}

}  // namespace flowgrpo::log
