#include "commands.h"

#include "flowgrpo/config/cli_options.h"
#include "flowgrpo/config/config_validator.h"

#include <cstdlib>
#include <iostream>
#include <memory>

namespace flowgrpo::tool {

Command add_config_command(CLI::App& app) {
  struct Options {
    config::CliOptions cli;
    int world_size = 0;
  };
  auto o = std::make_shared<Options>();
  config::add_cli_options(app, o->cli);
  app.add_option("--world-size", o->world_size,
                 "Number of ranks to check the batch arithmetic for (default: $WORLD_SIZE, else 1)")
      ->check(CLI::PositiveNumber);
  return [o]() {
    const auto cfg = config::load_config(o->cli);
    if (o->cli.dump_config) {
      std::cout << config::dump_config(cfg);
      return 0;
    }
    int world = o->world_size;
    if (world == 0) {
      const char* env = std::getenv("WORLD_SIZE");
      world = env != nullptr ? std::atoi(env) : 1;
      if (world < 1)
        throw std::invalid_argument("environment variable WORLD_SIZE must be a positive integer");
    }
    const auto layout = config::validate(cfg, world);
    std::cout << "config OK for " << world << (world == 1 ? " rank" : " ranks") << ": " << layout.describe()
              << "\n";
    return 0;
  };
}

}  // namespace flowgrpo::tool
