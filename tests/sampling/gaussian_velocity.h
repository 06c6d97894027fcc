#pragma once
/// The exact velocity field of Gaussian data, for tests that need a model whose
/// correct answer is known in closed form.
///
/// Data x0 ~ N(μ, s²) per element, x_σ = (1−σ)x0 + σε. With a = 1−σ and
/// V = a²s² + σ² (the marginal variance), E[ε − x0 | x_σ = x] =
/// (σ − a s²)/V · (x − aμ) − μ. μ is per sample: cond.pooled_projections[:, 0]
/// when defined, otherwise `default_mean`.

#include "flowgrpo/sampling/velocity_model.h"

namespace flowgrpo::testing {

class GaussianVelocity : public sampling::VelocityModel {
 public:
  GaussianVelocity(double default_mean, double data_std) : mean_(default_mean), std_(data_std) {}

  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& timestep,
                        const sampling::Conditioning& cond) override {
    ++calls_;
    const auto xd = x.to(torch::kDouble);
    std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
    shape[0] = x.size(0);
    const auto sigma = (timestep.to(torch::kDouble) / 1000.0).view(shape);
    auto mu = cond.pooled_projections.defined()
                  ? cond.pooled_projections.select(1, 0).to(torch::kDouble).view(shape)
                  : torch::full(shape, mean_, torch::kDouble);
    const auto a = 1 - sigma;
    const auto var = a * a * std_ * std_ + sigma * sigma;
    return ((sigma - a * std_ * std_) / var * (xd - a * mu) - mu).to(torch::kFloat);
  }

  int calls() const { return calls_; }

 private:
  double mean_;
  double std_;
  int calls_ = 0;
};

}  // namespace flowgrpo::testing
