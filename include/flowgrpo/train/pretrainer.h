#pragma once
/// @file pretrainer.h
/// Rectified-flow pretraining from scratch (`flowgrpo-pretrain`), the recipe of
/// SD3 (Esser et al. 2024, §2–3) at toy scale: x_σ = (1 − σ)·x0 + σ·ε, the model
/// regresses v = ε − x0 with an MSE loss, σ = sigmoid(u) with u ~ N(m, s²)
/// (logit-normal), a fraction of prompts replaced by "" so classifier-free guidance
/// works, AdamW with linear warm-up, gradient clipping, and an EMA of all weights
/// which is what gets saved as the model. Every random draw is derived from
/// (seed, step), and checkpoints hold the weights, the EMA and the optimizer, so
/// a resumed run continues exactly where it stopped.

#include "flowgrpo/config/config.h"
#include "flowgrpo/data/image_text_source.h"
#include "flowgrpo/rl/ema.h"
#include "flowgrpo/shapes/shapes_pipeline.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>

namespace flowgrpo::train {

/// Called every pretrain.eval_every steps with the EMA weights swapped in;
/// returns the metrics to log (e.g. strict accuracy by tag).
using PretrainEvalHook = std::function<nlohmann::json(int64_t step)>;

class Pretrainer {
 public:
  /// `output_dir` receives checkpoints/, pretrain_metrics.jsonl and model/ (the final EMA model).
  Pretrainer(const config::Config& config, shapes::ShapesPipeline& pipeline, data::ImageTextSource& data,
             std::filesystem::path output_dir, PretrainEvalHook eval_hook = {});

  /// Trains until pretrain.steps, resuming first if config.resume asks for it
  /// ("latest" or a checkpoint folder). Returns the number of steps run now.
  int64_t run();

  /// The training loss of one batch (exposed for tests): the mean squared error
  /// between the model's velocity and ε − x0 at logit-normal σ, with prompt dropout.
  torch::Tensor loss(int64_t step, const data::ImageTextBatch& batch);

  int64_t step() const { return step_; }
  /// Writes checkpoints/step-<N>/ and points checkpoints/latest at it.
  void save_checkpoint();
  /// Restores from a checkpoint folder. Throws std::invalid_argument if it does not fit the model.
  void load_checkpoint(const std::filesystem::path& dir);
  /// Saves the EMA weights as a complete pipeline folder.
  void save_ema_model(const std::filesystem::path& dir);

 private:
  std::vector<torch::Tensor> parameters() const;
  double learning_rate_at(int64_t step) const;

  const config::Config& config_;
  shapes::ShapesPipeline& pipeline_;
  data::ImageTextSource& data_;
  std::filesystem::path output_dir_;
  PretrainEvalHook eval_hook_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::unique_ptr<rl::Ema> ema_;
  int64_t step_ = 0;
};

}  // namespace flowgrpo::train
