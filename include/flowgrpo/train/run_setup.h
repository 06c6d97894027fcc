#pragma once
/// @file run_setup.h
/// Turning a validated configuration into the objects a run needs: the model
/// pipeline, the prompt sets, the reward and the output directory. Shared by
/// flowgrpo-train, flowgrpo-eval and flowgrpo-pretrain so that they agree.

#include "flowgrpo/config/config.h"
#include "flowgrpo/data/prompt_dataset.h"
#include "flowgrpo/eval/evaluator.h"
#include "flowgrpo/models/pipelines/text_to_image_pipeline.h"
#include "flowgrpo/rewards/reward.h"

#include <filesystem>
#include <memory>

namespace flowgrpo::train {

/// Configures logging from config.logging (FLOWGRPO_LOG_LEVEL wins) for `rank` of `world_size`.
void configure_logging(const config::Config& config, int rank, int world_size);

/// The compute device: CUDA (LOCAL_RANK's GPU) when this build and machine have one, else CPU.
torch::Device default_device();

/// Loads model.pretrained as the pipeline model.type names.
/// @param prompts for SD3 with a prompt cache: the prompts the run will encode (train
///        and test; "" is added), which the cache must hold.
/// @param build_cache whether this process may build or extend the cache (rank 0);
///        other ranks load it after rank 0 has (see flowgrpo-train).
/// @throws std::invalid_argument for model types not available in this build and
///         for model folders that do not load (naming the folder and the problem).
std::unique_ptr<models::TextToImagePipeline> load_pipeline(const config::Config& config, torch::Device device,
                                                           const std::vector<std::string>& prompts = {},
                                                           bool build_cache = true);

/// The prompt-embedding cache file of model.prompt_cache ("auto": under the run's
/// output_dir, the same for training and evaluation); empty for "off".
std::filesystem::path prompt_cache_path(const config::Config& config);

/// The prompt texts of `prompts`.
std::vector<std::string> prompt_texts(const data::PromptDataset& prompts);

/// Loads a prompt file in data.format; ShapesEval models also validate every
/// record against the task vocabulary (errors name the file and line).
data::PromptDataset load_prompts(const config::Config& config, const std::filesystem::path& path);

/// The first `max_prompts` (0 = all) prompts as evaluation input.
eval::EvalPrompts to_eval_prompts(const data::PromptDataset& prompts, int max_prompts);

/// The weighted reward of the config's `reward:` section, through the global registry.
std::unique_ptr<rewards::Reward> make_reward(const config::Config& config);

/// output_dir with {run_name} substituted, or `override_dir` when not empty.
std::filesystem::path output_dir(const config::Config& config, const std::string& override_dir);

}  // namespace flowgrpo::train
