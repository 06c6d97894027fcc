// flowgrpo-tool: checks flowgrpo's numerics against the Python reference
// (docs/parity.md) and inspects weight files.
#include "commands.h"

#include "flowgrpo/common/build_info.h"
#include "flowgrpo/common/process.h"

#include "flowgrpo/common/error.h"
#include "flowgrpo/config/config.h"

#include <map>

namespace flowgrpo::tool {

c10::ScalarType dtype_option(const std::string& value) {
  return with_context("--dtype", [&] { return config::to_scalar_type(config::parse_dtype(value)); });
}

}  // namespace flowgrpo::tool

int main(int argc, char** argv) {
  flowgrpo::keep_freed_memory_for_reuse();
  return flowgrpo::run_main("flowgrpo-tool", [&] {
    CLI::App app{"flowgrpo-tool: check flowgrpo's numerics against the Python reference, inspect weights"};
    app.set_version_flag("--version", flowgrpo::build_info());
    app.require_subcommand(1);
    std::map<CLI::App*, flowgrpo::tool::Command> commands;
    auto add = [&](const char* name, const char* help, auto adder) {
      auto* sub = app.add_subcommand(name, help);
      commands[sub] = adder(*sub);
    };
    add("schedule", "Print the flow-matching schedule (sigmas, timesteps) as JSON",
        flowgrpo::tool::add_schedule_command);
    add("sde-step", "Run one Flow-SDE/CPS step on tensors from a safetensors file",
        flowgrpo::tool::add_sde_step_command);
    add("inspect", "List the tensors of a safetensors file, sharded index or model folder",
        flowgrpo::tool::add_inspect_command);
    add("config",
        "Load a config (defaults < --config < --set), validate it and print the batch layout, or "
        "--dump-config",
        flowgrpo::tool::add_config_command);
    add("forward",
        "Run one model component (SD3 transformer, VAE decoder / encoder, CLIP-L / CLIP-G / T5 text encoder) "
        "on "
        "tensors from a safetensors file",
        flowgrpo::tool::add_forward_command);
    add("bench", "Time a transformer forward, a CFG rollout or a GRPO update; prints one JSON line",
        flowgrpo::tool::add_bench_command);
    add("shapes-prompts", "Regenerate the ShapesEval prompt files from a seed",
        flowgrpo::tool::add_shapes_prompts_command);
    add("score",
        "Score a folder of PNG images with a reward (a server, an exported model) and print JSON lines",
        flowgrpo::tool::add_score_command);
    add("tokenize", "Tokenize a prompt file with a pipeline's CLIP or T5 tokenizer; prints JSON lines",
        flowgrpo::tool::add_tokenize_command);
    add("encode-prompts",
        "Build or extend the prompt-embedding cache of an SD3 pipeline for prompt files (what flowgrpo-train "
        "builds itself when its cache is missing)",
        flowgrpo::tool::add_encode_prompts_command);
    add("allreduce-bench",
        "Time the gradient all-reduce against its bucket size, as one rank of a torchrun/srun launch; prints "
        "JSON lines",
        flowgrpo::tool::add_allreduce_bench_command);
    add("memory-plan",
        "Per-GPU memory of an SD3 run at real size (rollout and training), from the configs alone",
        flowgrpo::tool::add_memory_plan_command);
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      return app.exit(e);
    }
    for (auto& [sub, run] : commands)
      if (sub->parsed()) return run();
    return 2;
  });
}
