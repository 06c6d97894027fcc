#pragma once
/// A small trainable velocity model for sampler and trainer tests: a 3×3 conv on
/// the latents, modulated by the timestep and shifted by a projection of the
/// pooled text embedding. Deterministic, cheap, and it has parameters to
/// differentiate through.

#include "flowgrpo/sampling/velocity_model.h"

#include <torch/torch.h>

namespace flowgrpo::testing {

struct TinyVelocityNetImpl : torch::nn::Module {
  TinyVelocityNetImpl(int64_t channels, int64_t pooled_dim)
      : conv(register_module("conv",
                             torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 3).padding(1)))),
        text(register_module("text", torch::nn::Linear(pooled_dim, channels))),
        time(register_module("time", torch::nn::Linear(1, channels))) {}

  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& timestep, const torch::Tensor& pooled) {
    auto t = (timestep.to(x.scalar_type()) / 1000.0).unsqueeze(1);
    auto h = conv->forward(x) * torch::tanh(time->forward(t)).unsqueeze(-1).unsqueeze(-1);
    if (pooled.defined()) h = h + text->forward(pooled.to(x.scalar_type())).unsqueeze(-1).unsqueeze(-1);
    return h - x;
  }

  torch::nn::Conv2d conv;
  torch::nn::Linear text;
  torch::nn::Linear time;
};
TORCH_MODULE(TinyVelocityNet);

class TinyVelocity : public sampling::VelocityModel {
 public:
  TinyVelocity(int64_t channels, int64_t pooled_dim, uint64_t seed) {
    torch::manual_seed(seed);
    net_ = TinyVelocityNet(channels, pooled_dim);
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& timestep,
                        const sampling::Conditioning& cond) override {
    return net_->forward(x, timestep, cond.pooled_projections);
  }
  TinyVelocityNet& net() { return net_; }

 private:
  TinyVelocityNet net_{nullptr};
};

}  // namespace flowgrpo::testing
