#pragma once
/// @file logging.h
/// Process-wide logging on spdlog. Every message carries a `[component]` tag
/// (one logger per component, shared sink) and, in distributed runs, a
/// `[rank N]` prefix. Info goes out from rank 0 only; warnings and errors from
/// every rank. The level comes from the config (`logging.level`) unless the
/// environment variable FLOWGRPO_LOG_LEVEL is set, which wins. That variable is
/// read here and nowhere else.

#include <spdlog/spdlog.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace flowgrpo::log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError, kOff };

/// "trace", "debug", "info", "warn", "error", "off".
std::string to_string(Level level);
/// Parses a level name (case-insensitive); throws std::invalid_argument listing
/// the valid names.
Level parse_level(std::string_view name);

/// Name of the environment variable that overrides the configured level.
inline constexpr const char* kLevelEnvironmentVariable = "FLOWGRPO_LOG_LEVEL";

struct Options {
  Level level = Level::kInfo;  ///< Level from the config; the environment overrides it.
  int rank = 0;
  int world_size = 1;
  bool info_on_all_ranks = false;  ///< By default ranks > 0 log warnings and errors only.
};

/// Configures every existing and future logger. Safe to call again (e.g. once
/// the rank is known). Throws std::invalid_argument if FLOWGRPO_LOG_LEVEL holds
/// an unknown level name.
void configure(const Options& options);

/// The level in effect after the environment override.
Level effective_level();

/// The logger for a component ("sampler", "train", "io", ...), created on first use.
/// Thread-safe.
std::shared_ptr<spdlog::logger> get(std::string_view component);

}  // namespace flowgrpo::log
