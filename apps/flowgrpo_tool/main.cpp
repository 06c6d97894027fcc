#include "flowgrpo/compat.h"

#include <CLI/CLI.hpp>

#include <iostream>

int main(int argc, char** argv) {
  CLI::App app{"flowgrpo-tool: check flowgrpo's numerics against the Python reference"};
  app.set_version_flag("--version", flowgrpo::compat::build_info());
  CLI11_PARSE(app, argc, argv);
  return 0;
}
