// flowgrpo-train: Flow-GRPO fine-tuning. Single process, or one process per GPU
// under torchrun (RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT) or
// srun (SLURM_PROCID / SLURM_NTASKS / SLURM_LOCALID); docs/distributed.md.
#include "flowgrpo/common/build_info.h"
#include "flowgrpo/common/error.h"
#include "flowgrpo/common/process.h"
#include "flowgrpo/common/stop_request.h"
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
    // Every check that needs no other rank comes first, so that a bad launch or config
    // fails on its own before any process waits for the others.
    const auto launch = flowgrpo::dist::read_launch_environment();
    flowgrpo::config::validate(config, launch.world_size);
    ft::configure_logging(config, launch.rank, launch.world_size);
    flowgrpo::set_torch_threads(threads);
    const auto device = flowgrpo::dist::local_device(launch);
    flowgrpo::install_stop_signal_handlers();
    auto comm = flowgrpo::dist::make_communicator(launch, flowgrpo::config::to_string(config.dist.backend),
                                                  config.dist.timeout_seconds);
    auto log = flowgrpo::log::get("train");
    comm->stop_when_a_peer_fails("flowgrpo-train");
    try {
      flowgrpo::dist::check_same_config_on_all_ranks(*comm, flowgrpo::config::dump_config(config));
      log->info("{} | {} | {} on {}", flowgrpo::build_info(), comm->description(), launch.describe(),
                device.str());

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
      // No time limit on rank 0's part (a cache of 50,000 prompts through T5-XXL takes
      // a while), only on rank 0 being alive.
      if (comm->rank() == 0) pipeline = ft::load_pipeline(config, device, prompts, true);
      comm->wait_for_main("model and prompt cache on rank 0");
      if (comm->rank() != 0) pipeline = ft::load_pipeline(config, device, prompts, false);
      auto reward = ft::make_reward(config);
      const auto output = ft::output_dir(config, output_override);
      ft::GrpoTrainer trainer({config, *pipeline, *reward, train_prompts,
                               test_prompts ? &*test_prompts : nullptr, *comm, output});
      trainer.run();
      if (trainer.stopped())
        log->info(
            "stopped on {} after optimizer step {} (epoch {}); checkpoint {}. Resume with the same command "
            "and "
            "--set resume=latest{}",
            trainer.stop_cause(), trainer.global_step(), trainer.epoch(), trainer.stop_checkpoint().string(),
            output_override.empty() ? "" : " (and --output-dir " + output.string() + ")");
    } catch (const std::exception& e) {
      if (comm->world_size() == 1) throw;
      // Tell the other ranks (they stop at once instead of at their next collective),
      // and leave without tearing down a process group that could wait for a peer.
      comm->announce_failure(flowgrpo::exception_message(e));
      flowgrpo::exit_on_error("flowgrpo-train", e);
    }
    return 0;
  });
}
