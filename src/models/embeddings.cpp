#include "flowgrpo/models/embeddings.h"

#include "flowgrpo/models/lora_linear.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace flowgrpo::models {

namespace F = torch::nn::functional;

torch::Tensor get_timestep_embedding(const torch::Tensor& timesteps, int64_t dim, bool flip_sin_to_cos,
                                     double downscale_freq_shift, double scale, double max_period) {
  TORCH_CHECK(timesteps.dim() == 1, "get_timestep_embedding: timesteps must be 1-D, got shape ",
              timesteps.sizes());
  // embeddings.py::get_timestep_embedding, op for op in float32.
  const int64_t half = dim / 2;
  auto exponent =
      -std::log(max_period) * torch::arange(0, half, torch::dtype(torch::kFloat).device(timesteps.device()));
  exponent = exponent / (static_cast<double>(half) - downscale_freq_shift);
  auto freqs = torch::exp(exponent);
  auto emb = timesteps.unsqueeze(1).to(torch::kFloat) * freqs.unsqueeze(0);
  emb = scale * emb;
  emb = torch::cat({torch::sin(emb), torch::cos(emb)}, -1);
  if (flip_sin_to_cos) emb = torch::cat({emb.slice(1, half), emb.slice(1, 0, half)}, -1);
  if (dim % 2 == 1) emb = F::pad(emb, F::PadFuncOptions({0, 1, 0, 0}));
  return emb;
}

PatchEmbedImpl::PatchEmbedImpl(int64_t patch_size, int64_t in_channels, int64_t embed_dim,
                               int64_t pos_embed_max_size)
    : patch_size_(patch_size), in_channels_(in_channels), pos_embed_max_size_(pos_embed_max_size) {
  proj = register_module(
      "proj",
      torch::nn::Conv2d(
          torch::nn::Conv2dOptions(in_channels, embed_dim, patch_size).stride(patch_size).bias(true)));
  // The table is a checkpoint tensor (persistent buffer); zeros until loaded.
  pos_embed =
      register_buffer("pos_embed", torch::zeros({1, pos_embed_max_size * pos_embed_max_size, embed_dim}));
}

torch::Tensor PatchEmbedImpl::cropped_pos_embed(int64_t height, int64_t width) const {
  // embeddings.py::PatchEmbed.cropped_pos_embed; floor division as Python's //
  // (both operands are non-negative here).
  if (height % patch_size_ != 0 || width % patch_size_ != 0) {
    std::ostringstream os;
    os << "pos_embed: latent height and width must be divisible by patch_size " << patch_size_ << ", got "
       << height << "x" << width;
    throw std::invalid_argument(os.str());
  }
  const int64_t h = height / patch_size_;
  const int64_t w = width / patch_size_;
  if (h > pos_embed_max_size_ || w > pos_embed_max_size_) {
    std::ostringstream os;
    os << "pos_embed: patch grid " << h << "x" << w << " (latent " << height << "x" << width << ", patch "
       << patch_size_ << ") is larger than the positional table " << pos_embed_max_size_ << "x"
       << pos_embed_max_size_ << " (pos_embed_max_size)";
    throw std::invalid_argument(os.str());
  }
  const int64_t top = (pos_embed_max_size_ - h) / 2;
  const int64_t left = (pos_embed_max_size_ - w) / 2;
  auto spatial = pos_embed.reshape({1, pos_embed_max_size_, pos_embed_max_size_, -1});
  spatial = spatial.slice(1, top, top + h).slice(2, left, left + w);
  return spatial.reshape({1, -1, spatial.size(-1)});
}

torch::Tensor PatchEmbedImpl::forward(const torch::Tensor& x) {
  if (x.dim() != 4 || x.size(1) != in_channels_) {
    std::ostringstream os;
    os << "hidden_states: expected [B, " << in_channels_ << ", H, W] latents, found shape " << x.sizes();
    throw std::invalid_argument(os.str());
  }
  const int64_t height = x.size(2);
  const int64_t width = x.size(3);
  auto pos = cropped_pos_embed(height, width);  // validates the size before the conv
  auto latent = proj->forward(x).flatten(2).transpose(1, 2);
  return (latent + pos).to(latent.scalar_type());
}

TimestepEmbeddingImpl::TimestepEmbeddingImpl(int64_t in_channels, int64_t time_embed_dim) {
  register_module("linear_1", torch::nn::Linear(in_channels, time_embed_dim));
  register_module("linear_2", torch::nn::Linear(time_embed_dim, time_embed_dim));
}

torch::Tensor TimestepEmbeddingImpl::forward(const torch::Tensor& x) {
  return forward_linear(*this, "linear_2", F::silu(forward_linear(*this, "linear_1", x)));
}

PixArtAlphaTextProjectionImpl::PixArtAlphaTextProjectionImpl(int64_t in_features, int64_t hidden_size) {
  register_module("linear_1", torch::nn::Linear(in_features, hidden_size));
  register_module("linear_2", torch::nn::Linear(hidden_size, hidden_size));
}

torch::Tensor PixArtAlphaTextProjectionImpl::forward(const torch::Tensor& x) {
  return forward_linear(*this, "linear_2", F::silu(forward_linear(*this, "linear_1", x)));
}

CombinedTimestepTextProjEmbeddingsImpl::CombinedTimestepTextProjEmbeddingsImpl(
    int64_t embedding_dim, int64_t pooled_projection_dim) {
  timestep_embedder = register_module("timestep_embedder", TimestepEmbedding(256, embedding_dim));
  text_embedder =
      register_module("text_embedder", PixArtAlphaTextProjection(pooled_projection_dim, embedding_dim));
}

torch::Tensor CombinedTimestepTextProjEmbeddingsImpl::time_proj(const torch::Tensor& timestep) const {
  return get_timestep_embedding(timestep, 256, /*flip_sin_to_cos=*/true, /*downscale_freq_shift=*/0.0);
}

torch::Tensor CombinedTimestepTextProjEmbeddingsImpl::forward(const torch::Tensor& timestep,
                                                              const torch::Tensor& pooled) {
  // embeddings.py::CombinedTimestepTextProjEmbeddings.forward.
  auto temb = timestep_embedder->forward(time_proj(timestep).to(pooled.scalar_type()));
  return temb + text_embedder->forward(pooled);
}

torch::Tensor sd3_sincos_pos_embed(int64_t embed_dim, int64_t max_size, int64_t base_size) {
  if (embed_dim % 4 != 0 || max_size < 1 || base_size < 1)
    throw std::invalid_argument(
        "sincos positional table: embed_dim must be divisible by 4 and sizes positive, got " +
        std::to_string(embed_dim) + ", " + std::to_string(max_size) + ", " + std::to_string(base_size));
  const auto opts = torch::TensorOptions().dtype(torch::kDouble);
  const auto quarter = embed_dim / 4;
  const auto omega = 1.0 / torch::pow(10000.0, torch::arange(quarter, opts) / static_cast<double>(quarter));
  const auto grid =
      torch::arange(max_size, opts) / (static_cast<double>(max_size) / static_cast<double>(base_size));
  auto axis = [&](const torch::Tensor& p) {  // [N] -> [N, D/2]
    const auto a = p.unsqueeze(1) * omega.unsqueeze(0);
    return torch::cat({torch::sin(a), torch::cos(a)}, 1);
  };
  const auto cols = axis(grid).unsqueeze(0).expand({max_size, max_size, embed_dim / 2});  // [r, c] -> E(c)
  const auto rows = axis(grid).unsqueeze(1).expand({max_size, max_size, embed_dim / 2});  // [r, c] -> E(r)
  return torch::cat({cols, rows}, 2).reshape({1, max_size * max_size, embed_dim}).to(torch::kFloat);
}

}  // namespace flowgrpo::models
