#include "commands.h"

#include "flowgrpo/shapes/prompt_generator.h"

#include <iostream>
#include <memory>

namespace flowgrpo::tool {

Command add_shapes_prompts_command(CLI::App& app) {
  struct Options {
    std::string out = "assets/shapes/prompts";
    uint64_t seed = 2026;
  };
  auto o = std::make_shared<Options>();
  app.add_option("--out", o->out, "folder for train/test/held_out_metadata.jsonl");
  app.add_option("--seed", o->seed, "generation seed (the committed files use 2026)");
  return [o]() {
    shapes::write_prompt_files(o->out, o->seed);
    std::cout << "wrote " << o->out << "/{train,test,held_out}_metadata.jsonl (seed " << o->seed << ")\n";
    return 0;
  };
}

}  // namespace flowgrpo::tool
