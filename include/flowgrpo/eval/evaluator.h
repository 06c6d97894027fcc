#pragma once
/// @file evaluator.h
/// Evaluation as flow_grpo's eval(): deterministic Euler ODE sampling at the full
/// step count with classifier-free guidance, from initial latents seeded per
/// (eval seed, prompt index, image index) so every evaluation of every model sees
/// the same noise, then the reward in evaluation mode. Aggregates per tag
/// (GenEval's single_object, two_object, ...) and overall.

#include "flowgrpo/models/pipelines/text_to_image_pipeline.h"
#include "flowgrpo/rewards/reward.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace flowgrpo::eval {

struct EvalOptions {
  int num_steps = 40;           ///< ODE steps (sample.eval_num_steps).
  double guidance_scale = 4.5;  ///< CFG scale (sample.eval_guidance_scale).
  int images_per_prompt = 1;
  int batch_size = 16;      ///< Images per sampling batch.
  uint64_t seed = 0;        ///< Seed of the initial latents.
  bool keep_images = true;  ///< Keep the decoded images in the result (for grids).
  /// Only images [first_image, end_image) of the prompt-major sequence (end -1: to the
  /// end), so that ranks can share an evaluation: each image's seed depends on its
  /// prompt and index alone, and summarise() over the gathered images gives the
  /// evaluation of the whole set.
  int64_t first_image = 0;
  int64_t end_image = -1;
};

/// The prompts to evaluate: parallel vectors, one entry per prompt.
struct EvalPrompts {
  std::vector<std::string> prompts;
  std::vector<nlohmann::json> metadata;  ///< `{}` for plain-text prompts
  std::vector<std::string> tags;         ///< "" when the prompt has no tag
  size_t size() const { return prompts.size(); }
};

struct MetricSummary {
  double strict_accuracy = 0.0;  ///< mean of the reward's `strict_accuracy` component (NaN if absent)
  double accuracy = 0.0;         ///< mean of its `accuracy` component (NaN if absent)
  double score = 0.0;            ///< mean reward score
  int64_t count = 0;             ///< images scored (valid)
  int64_t invalid = 0;           ///< images the reward could not score
};

struct EvalResult {
  MetricSummary overall;
  std::map<std::string, MetricSummary> by_tag;
  int64_t num_images = 0;
  int num_steps = 0;
  /// Per image, in order (prompt-major, then image index).
  std::vector<std::string> image_prompts;
  std::vector<std::string> image_tags;
  torch::Tensor scores;           ///< [N] float64 (NaN where invalid)
  torch::Tensor strict_accuracy;  ///< [N] float64 (NaN where not reported)
  torch::Tensor accuracy;         ///< [N] float64 (NaN where not reported)
  torch::Tensor images;           ///< [N,3,H,W] uint8, when keep_images

  /// {"overall": {"strict_accuracy", "score", ...}, "by_tag": {...}, "num_images", "num_steps"}.
  nlohmann::json to_json() const;
  /// A fixed-width table (tag, count, strict accuracy, accuracy, score) for the console.
  std::string table() const;
};

/// Called after each sampling batch with (images done, images total).
using EvalProgress = std::function<void(int64_t, int64_t)>;

/// Samples and scores. Runs under InferenceMode. Throws std::invalid_argument for
/// inconsistent prompts/options; rethrows reward failures of the whole batch.
EvalResult evaluate(models::TextToImagePipeline& pipeline, rewards::Reward& reward,
                    const EvalPrompts& prompts, const EvalOptions& options,
                    const EvalProgress& progress = {});

/// Fills `overall` and `by_tag` from the per-image fields (scores, strict_accuracy,
/// accuracy, image_tags).
void summarise(EvalResult& result);

/// Seed of image `image` of prompt `prompt` in an evaluation with seed `seed`.
uint64_t eval_image_seed(uint64_t seed, uint64_t prompt, uint64_t image);

}  // namespace flowgrpo::eval
