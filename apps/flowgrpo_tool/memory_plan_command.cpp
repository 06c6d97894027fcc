#include "commands.h"

#include "flowgrpo/config/cli_options.h"
#include "flowgrpo/train/memory_plan.h"

#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>

namespace flowgrpo::tool {

Command add_memory_plan_command(CLI::App& app) {
  struct Options {
    config::CliOptions cli;
    std::string model;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  config::add_cli_options(app, o->cli);
  app.add_option("--model", o->model,
                 "SD3 pipeline folder whose config.json files to plan for (only configs are read; default: "
                 "SD3.5-Medium's)");
  app.add_flag("--json", o->json, "print one JSON object instead of the table");
  return [o]() {
    const auto cfg = config::load_config(o->cli);
    if (cfg.model.type != config::ModelType::kSd3)
      throw std::invalid_argument("memory-plan: model.type must be sd3 (found " +
                                  config::to_string(cfg.model.type) + ")");
    const auto components = o->model.empty() ? train::SD3ComponentConfigs::sd35_medium()
                                             : train::SD3ComponentConfigs::from_folder(o->model);
    const auto counts = train::count_sd3_parameters(components, cfg.model);
    const auto plan = train::plan_sd3_memory(cfg, components, counts);
    if (o->json) {
      auto j = plan.to_json();
      j["parameters"] = {{"transformer", counts.transformer}, {"lora", counts.lora},     {"vae", counts.vae},
                         {"clip_l", counts.clip_l},           {"clip_g", counts.clip_g}, {"t5", counts.t5}};
      std::cout << j.dump() << "\n";
      return 0;
    }
    std::cout << "parameters: transformer " << counts.transformer << ", LoRA " << counts.lora << ", VAE "
              << counts.vae << ", CLIP-L " << counts.clip_l << ", CLIP-G " << counts.clip_g << ", T5 "
              << counts.t5 << "\nper GPU at batch " << cfg.sample.train_batch_size << ", "
              << cfg.model.resolution << " px, " << config::to_string(cfg.model.dtype)
              << (cfg.model.gradient_checkpointing ? ", gradient checkpointing" : "") << ":\n"
              << plan.table();
    return 0;
  };
}

}  // namespace flowgrpo::tool
