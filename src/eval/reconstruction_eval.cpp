#include "flowgrpo/eval/reconstruction_eval.h"

#include <algorithm>
#include <stdexcept>

namespace flowgrpo::eval {

nlohmann::json ReconstructionReport::to_json() const {
  return {{"num_images", num_images},
          {"original_strict_accuracy", original_strict_accuracy},
          {"reconstructed_strict_accuracy", reconstructed_strict_accuracy},
          {"mean_abs_error", mean_abs_error},
          {"max_abs_error", max_abs_error}};
}

namespace {

double strict_sum(rewards::Reward& reward, const rewards::RewardBatch& batch) {
  const auto result = reward.score(batch);
  result.check(reward.name(), batch.size());
  for (int64_t i = 0; i < result.size(); ++i)
    if (!result.valid[i].item<bool>())
      throw std::runtime_error("reconstruction evaluation: " + reward.name() + " could not score image " +
                               std::to_string(i) + " ('" + batch.prompts[static_cast<size_t>(i)] +
                               "'): " + result.errors[static_cast<size_t>(i)]);
  const auto* strict = result.find_component("strict_accuracy");
  if (strict == nullptr)
    throw std::invalid_argument("reconstruction evaluation: reward " + reward.name() +
                                " has no strict_accuracy component");
  return strict->sum().item<double>();
}

}  // namespace

ReconstructionReport evaluate_reconstruction(models::AutoencoderKL& vae, rewards::Reward& reward,
                                             const torch::Tensor& images, const std::vector<std::string>& prompts,
                                             const std::vector<nlohmann::json>& metadata, int64_t batch_size) {
  const int64_t n = images.size(0);
  if (images.dim() != 4 || images.scalar_type() != torch::kByte)
    throw std::invalid_argument("reconstruction evaluation: images must be uint8 [N,3,H,W]");
  if (static_cast<int64_t>(prompts.size()) != n || static_cast<int64_t>(metadata.size()) != n)
    throw std::invalid_argument("reconstruction evaluation: " + std::to_string(n) + " images but " +
                                std::to_string(prompts.size()) + " prompts and " +
                                std::to_string(metadata.size()) + " metadata records");
  if (batch_size < 1) throw std::invalid_argument("reconstruction evaluation: batch_size must be >= 1");
  torch::NoGradGuard no_grad;
  ReconstructionReport r;
  r.num_images = n;
  double original = 0.0, reconstructed = 0.0, abs_sum = 0.0;
  for (int64_t s = 0; s < n; s += batch_size) {
    const int64_t e = std::min(n, s + batch_size);
    const auto x01 = images.slice(0, s, e).to(torch::kFloat) / 255.0;
    const auto y01 =
        (vae->forward((x01 * 2.0 - 1.0).to(vae->device(), vae->dtype())).to(torch::kCPU, torch::kFloat) * 0.5 +
         0.5)
            .clamp(0.0, 1.0);
    rewards::RewardBatch batch;
    batch.prompts.assign(prompts.begin() + s, prompts.begin() + e);
    batch.metadata.assign(metadata.begin() + s, metadata.begin() + e);
    batch.mode = rewards::ScoreMode::kEval;
    batch.images = images.slice(0, s, e);
    original += strict_sum(reward, batch);
    batch.images = y01;
    reconstructed += strict_sum(reward, batch);
    const auto err = (y01 - x01).abs();
    abs_sum += err.sum().item<double>();
    r.max_abs_error = std::max(r.max_abs_error, err.max().item<double>());
  }
  r.original_strict_accuracy = original / static_cast<double>(n);
  r.reconstructed_strict_accuracy = reconstructed / static_cast<double>(n);
  r.mean_abs_error = abs_sum / static_cast<double>(images.numel());
  return r;
}

}  // namespace flowgrpo::eval
