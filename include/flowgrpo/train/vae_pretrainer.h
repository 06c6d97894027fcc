#pragma once
/// @file vae_pretrainer.h
/// Training a small AutoencoderKL from scratch (`flowgrpo-pretrain` with
/// `pretrain.stage: vae`), the first stage of a latent model such as SD3's:
/// loss = L1(decode(z), x) + kl_weight · KL(q(z|x) ‖ N(0, I)) with z sampled from
/// the posterior, x the normalised image in [−1, 1]. L1 rather than MSE keeps the
/// flat colour regions and sharp edges of ShapesEval renders crisp; the small KL
/// keeps the latent scale bounded so that a diffusion model can be trained on it.
/// AdamW with warm-up, gradient clipping and an EMA of the weights, as the
/// transformer stage (pretrainer.h); every draw derives from (seed, step) and
/// checkpoints hold weights, EMA and optimizer, so a resumed run is exact.
///
/// At the end the latents of pretrain.latent_stat_images renders set the VAE's
/// SD3-style factors: shift_factor = mean(z), scaling_factor = 1/std(z), so that
/// model-space latents (z − shift)·scale have zero mean and unit variance.

#include "flowgrpo/config/config.h"
#include "flowgrpo/data/image_text_source.h"
#include "flowgrpo/models/autoencoders/autoencoder_kl.h"
#include "flowgrpo/rl/ema.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <memory>

namespace flowgrpo::train {

/// Called every pretrain.eval_every steps with the EMA weights swapped in.
using VaeEvalHook = std::function<nlohmann::json(int64_t step, models::AutoencoderKL& vae)>;

struct VaeLoss {
  torch::Tensor total;          ///< reconstruction + kl_weight · kl (differentiable)
  double reconstruction = 0.0;  ///< mean |x̂ − x| in [−1, 1] units
  double kl = 0.0;              ///< mean KL per latent element
};

/// SD3-style latent factors measured on latents z: shift = mean, scale = 1/std.
struct LatentFactors {
  double shift_factor = 0.0;
  double scaling_factor = 1.0;
};

class VaePretrainer {
 public:
  /// `output_dir` receives checkpoints/, pretrain_metrics.jsonl and vae/ (the final
  /// EMA weights with the measured factors, a diffusers component folder).
  VaePretrainer(const config::Config& config, models::AutoencoderKL& vae, data::ImageTextSource& data,
                std::filesystem::path output_dir, VaeEvalHook eval_hook = {});

  /// Trains until pretrain.steps (resuming first if config.resume asks for it),
  /// then measures the latent factors and writes output_dir/vae. Returns the
  /// number of steps run now.
  int64_t run();

  /// The loss of one batch at `step` (exposed for tests).
  VaeLoss loss(int64_t step, const data::ImageTextBatch& batch);

  /// Posterior-mode latents of `images` batches drawn from the data source at
  /// steps past any training step, and the factors they give.
  LatentFactors measure_latent_factors(int64_t num_images);

  int64_t step() const { return step_; }
  void save_checkpoint();
  /// @throws std::invalid_argument if the checkpoint does not fit the VAE.
  void load_checkpoint(const std::filesystem::path& dir);

 private:
  std::vector<torch::Tensor> parameters() const;

  const config::Config& config_;
  models::AutoencoderKL& vae_;
  data::ImageTextSource& data_;
  std::filesystem::path output_dir_;
  VaeEvalHook eval_hook_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::unique_ptr<rl::Ema> ema_;
  int64_t step_ = 0;
};

}  // namespace flowgrpo::train
