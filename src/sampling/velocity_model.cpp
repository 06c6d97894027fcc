#include "flowgrpo/sampling/velocity_model.h"

#include <stdexcept>
#include <string>

namespace flowgrpo::sampling {

namespace {

template <class F>
Conditioning map_fields(const Conditioning& c, F&& f) {
  Conditioning out;
  if (c.encoder_hidden_states.defined()) out.encoder_hidden_states = f(c.encoder_hidden_states);
  if (c.pooled_projections.defined()) out.pooled_projections = f(c.pooled_projections);
  return out;
}

}  // namespace

int64_t Conditioning::batch_size() const {
  if (encoder_hidden_states.defined()) return encoder_hidden_states.size(0);
  if (pooled_projections.defined()) return pooled_projections.size(0);
  return 0;
}

Conditioning Conditioning::index_select(const torch::Tensor& index) const {
  return map_fields(*this, [&](const torch::Tensor& t) { return t.index_select(0, index.to(t.device())); });
}

Conditioning Conditioning::slice(int64_t start, int64_t length) const {
  return map_fields(*this, [&](const torch::Tensor& t) { return t.narrow(0, start, length); });
}

Conditioning Conditioning::repeat_interleave(int64_t times) const {
  return map_fields(*this, [&](const torch::Tensor& t) { return t.repeat_interleave(times, 0); });
}

Conditioning Conditioning::to(const torch::Device& device) const {
  return map_fields(*this, [&](const torch::Tensor& t) { return t.to(device); });
}

Conditioning Conditioning::detach() const {
  return map_fields(*this, [&](const torch::Tensor& t) { return t.detach(); });
}

Conditioning Conditioning::concat(const Conditioning& a, const Conditioning& b) {
  auto cat = [](const torch::Tensor& x, const torch::Tensor& y, const char* name) -> torch::Tensor {
    if (x.defined() != y.defined())
      throw std::invalid_argument(std::string("Conditioning::concat: ") + name +
                                  " is defined on one side only (positive vs negative conditioning)");
    if (!x.defined()) return {};
    if (x.sizes().slice(1) != y.sizes().slice(1))
      throw std::invalid_argument(std::string("Conditioning::concat: ") + name +
                                  " shapes differ beyond the batch dimension");
    return torch::cat({x, y}, 0);
  };
  return {cat(a.encoder_hidden_states, b.encoder_hidden_states, "encoder_hidden_states"),
          cat(a.pooled_projections, b.pooled_projections, "pooled_projections")};
}

torch::Tensor guided_velocity(VelocityModel& model, const torch::Tensor& latents,
                              const torch::Tensor& timestep, const Conditioning& positive,
                              const Conditioning& negative, double guidance_scale) {
  const int64_t batch = latents.size(0);
  // batch_size() == 0: an unconditional model, no conditioning tensors at all.
  if (positive.batch_size() != 0 && positive.batch_size() != batch)
    throw std::invalid_argument("guided_velocity: positive conditioning has batch " +
                                std::to_string(positive.batch_size()) + ", latents have " +
                                std::to_string(batch));
  if (!uses_cfg(guidance_scale)) return model.forward(latents, timestep, positive);
  if (negative.batch_size() != positive.batch_size())
    throw std::invalid_argument("guided_velocity: negative conditioning has batch " +
                                std::to_string(negative.batch_size()) + ", positive has " +
                                std::to_string(positive.batch_size()));
  // Batch order [negative; positive], as the SD3 pipeline concatenates it.
  const auto v = model.forward(torch::cat({latents, latents}, 0), torch::cat({timestep, timestep}, 0),
                               Conditioning::concat(negative, positive));
  auto chunks = v.chunk(2, 0);
  const auto& v_uncond = chunks[0];
  const auto& v_text = chunks[1];
  return v_uncond + guidance_scale * (v_text - v_uncond);
}

}  // namespace flowgrpo::sampling
