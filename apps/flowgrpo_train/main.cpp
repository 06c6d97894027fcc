// flowgrpo-train: Flow-GRPO fine-tuning. Single process, or one process per GPU
// under torchrun (RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT).
#include "flowgrpo/common/build_info.h"
#include "flowgrpo/common/process.h"
#include "flowgrpo/config/cli_options.h"
#include "flowgrpo/config/config_validator.h"
#include "flowgrpo/dist/communicator.h"
#include "flowgrpo/log/logging.h"
#include "flowgrpo/train/grpo_trainer.h"
#include "flowgrpo/train/run_setup.h"

#include <CLI/CLI.hpp>

#include <iostream>

int main(int argc, char** argv) {
  flowgrpo::keep_freed_memory_for_reuse();
  return flowgrpo::run_main("flowgrpo-train", [&] {
    namespace ft = flowgrpo::train;
    CLI::App app{"flowgrpo-train: fine-tune a flow-matching model with Flow-GRPO"};
    flowgrpo::config::CliOptions cli;
    std::string output_override;
    int threads = 0;
    flowgrpo::config::add_cli_options(app, cli);
    app.add_option("--output-dir", output_override, "Run directory (default: output_dir of the config)");
    app.add_option("--threads", threads, "LibTorch intra-op threads (default: LibTorch's choice)");
    CLI11_PARSE(app, argc, argv);

    const auto config = flowgrpo::config::load_config(cli);
    if (cli.dump_config) {
      std::cout << flowgrpo::config::dump_config(config);
      return 0;
    }
    auto comm = flowgrpo::dist::make_communicator(flowgrpo::config::to_string(config.dist.backend),
                                                  config.dist.timeout_seconds);
    flowgrpo::config::validate(config, comm->world_size());
    ft::configure_logging(config, comm->rank(), comm->world_size());
    flowgrpo::set_torch_threads(threads);
    auto log = flowgrpo::log::get("train");
    log->info("{} | {}", flowgrpo::build_info(), comm->description());

    const auto train_prompts = ft::load_prompts(config, config.data.train_prompts);
    std::optional<flowgrpo::eval::EvalPrompts> test_prompts;
    if (!config.data.test_prompts.empty())
      test_prompts =
          ft::to_eval_prompts(ft::load_prompts(config, config.data.test_prompts), config.eval.max_prompts);
    // Every prompt the run encodes, for a prompt-embedding cache: rank 0 builds or
    // extends it, the other ranks load it once rank 0 is done.
    auto prompts = ft::prompt_texts(train_prompts);
    if (test_prompts)
      prompts.insert(prompts.end(), test_prompts->prompts.begin(), test_prompts->prompts.end());
    std::unique_ptr<flowgrpo::models::TextToImagePipeline> pipeline;
    if (comm->rank() == 0) pipeline = ft::load_pipeline(config, ft::default_device(), prompts, true);
    if (comm->world_size() > 1) comm->barrier();
    if (comm->rank() != 0) pipeline = ft::load_pipeline(config, ft::default_device(), prompts, false);
    auto reward = ft::make_reward(config);
    ft::GrpoTrainer trainer({config, *pipeline, *reward, train_prompts,
                             test_prompts ? &*test_prompts : nullptr, *comm,
                             ft::output_dir(config, output_override)});
    trainer.run();
    return 0;
  });
}
