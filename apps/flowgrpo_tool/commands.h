#pragma once
// flowgrpo-tool's subcommands. Each registers its options on a CLI11 subcommand
// and returns the function that runs it after parsing.

#include <c10/core/ScalarType.h>
#include <CLI/CLI.hpp>

#include <functional>

namespace flowgrpo::tool {

using Command = std::function<int()>;

/// The value of a --dtype option (float32, bfloat16, float16 and their aliases, as
/// model.dtype takes them). @throws std::invalid_argument naming the option.
c10::ScalarType dtype_option(const std::string& value);

Command add_schedule_command(CLI::App& app);
Command add_sde_step_command(CLI::App& app);
Command add_inspect_command(CLI::App& app);
Command add_config_command(CLI::App& app);
Command add_forward_command(CLI::App& app);
Command add_bench_command(CLI::App& app);
Command add_shapes_prompts_command(CLI::App& app);
Command add_score_command(CLI::App& app);
Command add_tokenize_command(CLI::App& app);
Command add_encode_prompts_command(CLI::App& app);
Command add_memory_plan_command(CLI::App& app);
Command add_allreduce_bench_command(CLI::App& app);

}  // namespace flowgrpo::tool
