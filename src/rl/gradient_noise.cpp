#include "flowgrpo/rl/gradient_noise.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace flowgrpo::rl {

GradientNoiseEstimator::GradientNoiseEstimator(double micro_batch_weight) : weight_(micro_batch_weight) {
  if (!std::isfinite(weight_) || weight_ <= 0)
    throw std::invalid_argument("GradientNoiseEstimator: micro_batch_weight must be finite and > 0, got " +
                                std::to_string(weight_));
}

void GradientNoiseEstimator::end_micro_batch(const std::vector<torch::Tensor>& parameters,
                                             int64_t batch_size) {
  end_micro_batch(parameters, batch_size, weight_);
}

void GradientNoiseEstimator::end_micro_batch(const std::vector<torch::Tensor>& parameters, int64_t batch_size,
                                             double weight) {
  if (batch_size < 1)
    throw std::invalid_argument("GradientNoiseEstimator: batch_size must be >= 1, got " +
                                std::to_string(batch_size));
  if (!std::isfinite(weight) || weight <= 0)
    throw std::invalid_argument("GradientNoiseEstimator: a micro-batch's weight must be finite and > 0, got " +
                                std::to_string(weight));
  auto current = rl::flat_gradient(parameters);
  if (previous_.defined() && previous_.numel() != current.numel())
    throw std::invalid_argument("GradientNoiseEstimator: the parameters hold " +
                                std::to_string(current.numel()) + " gradient values, earlier " +
                                std::to_string(previous_.numel()));
  // Unscaled: the micro-batch contributed weight·g to .grad.
  add_micro_batch((previous_.defined() ? current - previous_ : current) / weight, batch_size);
  previous_ = std::move(current);
}

void GradientNoiseEstimator::add_micro_batch(const torch::Tensor& gradient, int64_t batch_size) {
  if (batch_size < 1)
    throw std::invalid_argument("GradientNoiseEstimator: batch_size must be >= 1, got " +
                                std::to_string(batch_size));
  if (sum_.defined() && sum_.numel() != gradient.numel())
    throw std::invalid_argument("GradientNoiseEstimator: the gradient holds " + std::to_string(gradient.numel()) +
                                " values, earlier " + std::to_string(sum_.numel()));
  const auto g = gradient.detach().flatten().to(torch::kFloat);
  sum_ = sum_.defined() ? sum_ + g : g.clone();
  squared_norms_.push_back(g.pow(2).sum().item<double>());
  batch_sizes_.push_back(batch_size);
}

torch::Tensor flat_gradient(const std::vector<torch::Tensor>& parameters) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  parts.reserve(parameters.size());
  for (const auto& p : parameters) {
    const auto& g = p.grad();
    parts.push_back(g.defined() ? g.detach().flatten().to(torch::kFloat)
                                : torch::zeros({p.numel()}, p.options().dtype(torch::kFloat)));
  }
  return torch::cat(parts);
}

std::optional<GradientNoiseEstimate> GradientNoiseEstimator::end_step() {
  std::optional<GradientNoiseEstimate> out;
  const auto m = static_cast<int64_t>(squared_norms_.size());
  if (m >= 2) {
    const double total_sq = sum_.pow(2).sum().item<double>();  // |Σ g_k|²
    double sum_sq = 0;
    for (double s : squared_norms_) sum_sq += s;
    const double md = static_cast<double>(m);
    GradientNoiseEstimate e;
    // Independent micro-batches: every g_i·g_j (i ≠ j) has mean |G|², whatever their sizes.
    e.grad_sq = (total_sq - sum_sq) / (md * (md - 1));
    // E|g_k|² = |G|² + tr Σ / n_k.
    double trace_sum = 0;
    for (int64_t k = 0; k < m; ++k)
      trace_sum += static_cast<double>(batch_sizes_[static_cast<size_t>(k)]) *
                   (squared_norms_[static_cast<size_t>(k)] - e.grad_sq);
    e.trace = trace_sum / md;
    out = e;
  }
  previous_ = torch::Tensor();
  sum_ = torch::Tensor();
  squared_norms_.clear();
  batch_sizes_.clear();
  return out;
}

std::optional<double> gradient_noise_scale(double mean_trace, double mean_grad_sq) {
  if (!(mean_grad_sq > 0) || !std::isfinite(mean_trace)) return std::nullopt;
  return mean_trace / mean_grad_sq;
}

}  // namespace flowgrpo::rl
