#pragma once
/// @file reconstruction_eval.h
/// How well an autoencoder preserves what a reward looks at: the reward's
/// strict accuracy on images and on their encode → decode reconstructions
/// (posterior mode, as pipelines encode), side by side. For ShapesEval renders
/// the originals score 100%, so the reconstructions' figure is the VAE's loss of
/// task information (issue: ≥ 99% before a latent model is trained on it).

#include "flowgrpo/models/autoencoders/autoencoder_kl.h"
#include "flowgrpo/rewards/reward.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace flowgrpo::eval {

struct ReconstructionReport {
  int64_t num_images = 0;
  double original_strict_accuracy = 0.0;       ///< mean `strict_accuracy` of the reward on the inputs
  double reconstructed_strict_accuracy = 0.0;  ///< ... on the reconstructions
  double mean_abs_error = 0.0;                 ///< mean |x̂ − x| in [0, 1] units
  double max_abs_error = 0.0;
  nlohmann::json to_json() const;
};

/// Scores `images` ([N,3,H,W] uint8) and their reconstructions with `reward` in
/// evaluation mode, `batch_size` images at a time, without gradients.
/// @throws std::invalid_argument if the sizes disagree or the reward has no
///         `strict_accuracy` component; std::runtime_error if a sample cannot be
///         scored (named with the reward's reason).
ReconstructionReport evaluate_reconstruction(models::AutoencoderKL& vae, rewards::Reward& reward,
                                             const torch::Tensor& images, const std::vector<std::string>& prompts,
                                             const std::vector<nlohmann::json>& metadata, int64_t batch_size = 64);

}  // namespace flowgrpo::eval
