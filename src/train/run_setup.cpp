#include "flowgrpo/train/run_setup.h"

#include "flowgrpo/dist/launch_environment.h"
#include "flowgrpo/log/logging.h"
#include "flowgrpo/models/pipelines/sd3_pipeline.h"
#include "flowgrpo/rewards/weighted_reward.h"
#include "flowgrpo/shapes/prompt_spec.h"
#include "flowgrpo/shapes/shapes_pipeline.h"

#include <cstdlib>
#include <stdexcept>

namespace flowgrpo::train {

void configure_logging(const config::Config& config, int rank, int world_size) {
  log::configure({config.logging.level, rank, world_size, false});
}

torch::Device default_device() {
  return dist::local_device(dist::read_launch_environment());
}

std::filesystem::path prompt_cache_path(const config::Config& config) {
  if (config.model.prompt_cache == "off") return {};
  if (config.model.prompt_cache == "auto")
    return config::effective_output_dir(config) / "prompt_embeddings.safetensors";
  return config.model.prompt_cache;
}

std::vector<std::string> prompt_texts(const data::PromptDataset& prompts) {
  std::vector<std::string> out;
  out.reserve(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) out.push_back(prompts.prompt(i));
  return out;
}

std::unique_ptr<models::TextToImagePipeline> load_pipeline(const config::Config& config, torch::Device device,
                                                           const std::vector<std::string>& prompts,
                                                           bool build_cache) {
  if (config.model.pretrained.empty())
    throw std::invalid_argument("model.pretrained is empty: set the model folder to load");
  switch (config.model.type) {
    case config::ModelType::kShapes: {
      if (config.model.dtype != config::DType::kFloat32)
        throw std::invalid_argument("model.dtype = " + config::to_string(config.model.dtype) +
                                    ": the ShapesEval model runs in float32 (set model.dtype: float32)");
      auto p = shapes::ShapesPipeline::load(config.model.pretrained, device);
      if (p->resolution() != config.model.resolution)
        throw std::invalid_argument("model.resolution = " + std::to_string(config.model.resolution) +
                                    " but the model " + config.model.pretrained + " generates " +
                                    std::to_string(p->resolution()) + "x" + std::to_string(p->resolution()) +
                                    " images");
      return p;
    }
    case config::ModelType::kSd3: {
      models::SD3PipelineOptions o;
      o.load = {config::to_scalar_type(config.model.dtype), device};
      o.resolution = config.model.resolution;
      o.text.max_sequence_length = config.model.max_sequence_length;
      o.prompt_cache = prompt_cache_path(config);
      o.cache_prompts = prompts;
      o.build_cache = build_cache;
      o.gradient_checkpointing = config.model.gradient_checkpointing;
      return models::SD3Pipeline::from_pretrained(config.model.pretrained, o);
    }
    case config::ModelType::kFlux:
      throw std::invalid_argument(
          "model.type = flux: the FLUX.1 pipeline is not available yet in this build (its transformer is on "
          "the "
          "roadmap; the VAE, CLIP-L and T5 encoders it reuses exist). Use model.type: sd3 or shapes");
  }
  throw std::invalid_argument("unknown model.type");
}

data::PromptDataset load_prompts(const config::Config& config, const std::filesystem::path& path) {
  if (config.model.type == config::ModelType::kShapes) return shapes::load_shapes_prompts(path);
  return data::PromptDataset::load(path, config.data.format == config::PromptFormat::kGeneval
                                             ? data::PromptFormat::kGeneval
                                             : data::PromptFormat::kText);
}

eval::EvalPrompts to_eval_prompts(const data::PromptDataset& prompts, int max_prompts) {
  eval::EvalPrompts out;
  const size_t n =
      max_prompts > 0 ? std::min(prompts.size(), static_cast<size_t>(max_prompts)) : prompts.size();
  for (size_t i = 0; i < n; ++i) {
    out.prompts.push_back(prompts.prompt(i));
    out.metadata.push_back(prompts.metadata(i));
    out.tags.push_back(prompts.tag(i));
  }
  return out;
}

std::unique_ptr<rewards::Reward> make_reward(const config::Config& config) {
  std::vector<std::pair<std::string, double>> weights;
  for (const auto& w : config.reward) weights.emplace_back(w.name, w.weight);
  return rewards::WeightedReward::from_weights(weights, rewards::RewardRegistry::global(),
                                               config.reward_options);
}

std::filesystem::path output_dir(const config::Config& config, const std::string& override_dir) {
  return override_dir.empty() ? config::effective_output_dir(config) : std::filesystem::path(override_dir);
}

}  // namespace flowgrpo::train
