#pragma once
/// @file cli_options.h
/// Header-only helper for the executables: registers the configuration options on
/// a CLI11 app (the app links CLI11::CLI11; the library does not).
///
///     flowgrpo::config::CliOptions config_options;
///     flowgrpo::config::add_cli_options(app, config_options);
///     CLI11_PARSE(app, argc, argv);
///     const auto config = flowgrpo::config::load_config(config_options);
///     if (config_options.dump_config) { std::cout << flowgrpo::config::dump_config(config); return 0; }
///     const auto layout = flowgrpo::config::validate(config, world_size);
///
/// Options:
///   --config, -c FILE    YAML config file (its `include:`s are loaded first)
///   --set, -s KEY=VALUE  override one key; repeat the option for several keys
///   --dump-config        print the effective configuration as YAML and exit
///   --version            print build_info() (flowgrpo and LibTorch versions, CUDA and
///                        distributed switches) and exit

#include "flowgrpo/common/build_info.h"
#include "flowgrpo/config/config.h"
#include "flowgrpo/config/config_loader.h"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace flowgrpo::config {

/// What add_cli_options() fills in.
struct CliOptions {
  std::string config_file;             ///< "" = defaults only
  std::vector<std::string> overrides;  ///< "KEY=VALUE", in command-line order
  bool dump_config = false;

  std::optional<std::filesystem::path> file() const {
    if (config_file.empty()) return std::nullopt;
    return std::filesystem::path(config_file);
  }
};

/// Registers --config/-c, --set/-s (one KEY=VALUE per occurrence, repeatable),
/// --dump-config and --version on `app`, storing into `options` (which must outlive parsing).
inline void add_cli_options(CLI::App& app, CliOptions& options) {
  app.set_version_flag("--version", flowgrpo::build_info());
  app.add_option("-c,--config", options.config_file,
                 "YAML config file; values override the defaults (see docs/configs.md)")
      ->type_name("FILE");
  app.add_option(
         "-s,--set", options.overrides,
         "Override one config key, e.g. --set sample.num_steps=20 --set model.lora.rank=16; the value is "
         "YAML (lists: [a, b]); applied after --config, in order")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  app.add_flag("--dump-config", options.dump_config,
               "Print the effective configuration (defaults < --config < --set) as YAML and exit");
}

/// load_config(options.file(), options.overrides).
/// @throws std::invalid_argument as load_config().
inline Config load_config(const CliOptions& options) {
  return load_config(options.file(), options.overrides);
}

}  // namespace flowgrpo::config
