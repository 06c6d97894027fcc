// flowgrpo-eval: deterministic ODE evaluation at the full step count, of the base
// model or of a training checkpoint; writes metrics.json and one image grid per tag.
#include "flowgrpo/common/process.h"
#include "flowgrpo/config/cli_options.h"
#include "flowgrpo/config/config_validator.h"
#include "flowgrpo/eval/evaluator.h"
#include "flowgrpo/io/image_png.h"
#include "flowgrpo/log/logging.h"
#include "flowgrpo/log/progress_bar.h"
#include "flowgrpo/models/lora.h"
#include "flowgrpo/train/base_model_record.h"
#include "flowgrpo/train/run_setup.h"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>

namespace fs = std::filesystem;

namespace {

// A checkpoint folder (checkpoint-N, or checkpoints/latest) holds the adapter in lora/;
// an adapter folder holds adapter_config.json itself.
fs::path adapter_dir(const fs::path& checkpoint) {
  if (fs::exists(checkpoint / "adapter_config.json")) return checkpoint;
  if (fs::exists(checkpoint / "lora" / "adapter_config.json")) return checkpoint / "lora";
  if (fs::exists(checkpoint / "latest" / "lora" / "adapter_config.json"))
    return checkpoint / "latest" / "lora";
  throw std::invalid_argument(
      "--checkpoint " + checkpoint.string() +
      ": no LoRA adapter found (expected lora/adapter_config.json in a checkpoint folder, or an "
      "adapter folder)");
}

}  // namespace

int main(int argc, char** argv) {
  flowgrpo::keep_freed_memory_for_reuse();
  return flowgrpo::run_main("flowgrpo-eval", [&] {
    namespace ft = flowgrpo::train;
    CLI::App app{"flowgrpo-eval: evaluate a model with the deterministic ODE sampler at the full step count"};
    flowgrpo::config::CliOptions cli;
    std::string checkpoint, prompts_file, output_override;
    int threads = 0;
    flowgrpo::config::add_cli_options(app, cli);
    app.add_option("--checkpoint", checkpoint,
                   "Training checkpoint (checkpoint-N folder, checkpoints/latest, or a LoRA adapter folder); "
                   "default: the base model");
    app.add_option("--prompts", prompts_file, "Prompt file (default: data.test_prompts)");
    app.add_option("--output-dir", output_override,
                   "Where metrics.json and the grids go (default: <output_dir>/eval)");
    app.add_option("--threads", threads, "LibTorch intra-op threads (default: LibTorch's choice)");
    CLI11_PARSE(app, argc, argv);

    const auto config = flowgrpo::config::load_config(cli);
    if (cli.dump_config) {
      std::cout << flowgrpo::config::dump_config(config);
      return 0;
    }
    ft::configure_logging(config, 0, 1);
    flowgrpo::set_torch_threads(threads);
    const std::string file = prompts_file.empty() ? config.data.test_prompts : prompts_file;
    if (file.empty()) throw std::invalid_argument("no prompts: give --prompts FILE or set data.test_prompts");
    const auto prompts = ft::to_eval_prompts(ft::load_prompts(config, file), config.eval.max_prompts);
    auto pipeline = ft::load_pipeline(config, ft::default_device(), prompts.prompts);
    if (!checkpoint.empty()) {
      const auto dir = adapter_dir(checkpoint);
      ft::check_adapter_base_model(dir, *pipeline);
      try {
        flowgrpo::models::load_lora_adapter(pipeline->transformer_module(), dir);
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument("checkpoint " + dir.string() + " does not fit model " +
                                    config.model.pretrained + ": " + e.what());
      }
    }
    auto reward = ft::make_reward(config);
    flowgrpo::eval::EvalOptions o;
    o.num_steps = config.sample.eval_num_steps;
    o.guidance_scale = flowgrpo::config::effective_eval_guidance_scale(config.sample);
    o.images_per_prompt = config.eval.num_images_per_prompt;
    o.batch_size = config.sample.test_batch_size;
    o.seed = static_cast<uint64_t>(config.eval.seed);
    const int64_t total = static_cast<int64_t>(prompts.size()) * o.images_per_prompt;
    flowgrpo::log::ProgressBar bar("eval", total);
    const auto result = flowgrpo::eval::evaluate(
        *pipeline, *reward, prompts, o, [&](int64_t done, int64_t) { bar.advance(done - bar.count()); });
    bar.finish();

    const fs::path out =
        output_override.empty() ? ft::output_dir(config, "") / "eval" : fs::path(output_override);
    fs::create_directories(out);
    {
      std::ofstream f(out / "metrics.json");
      f << result.to_json().dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      if (!f) throw std::runtime_error("could not write " + (out / "metrics.json").string());
    }
    std::map<std::string, std::vector<int64_t>> rows;
    for (size_t i = 0; i < result.image_tags.size(); ++i)
      rows[result.image_tags[i].empty() ? "all" : result.image_tags[i]].push_back(static_cast<int64_t>(i));
    for (const auto& [tag, idx] : rows) {
      const auto images = result.images.index_select(0, torch::tensor(idx, torch::kLong));
      flowgrpo::io::write_png(out / ("grid_" + tag + ".png"), flowgrpo::io::make_grid(images, 8));
    }
    std::cout << result.table();
    std::cout << "wrote " << (out / "metrics.json").string() << " and " << rows.size() << " image grids\n";
    return 0;
  });
}
