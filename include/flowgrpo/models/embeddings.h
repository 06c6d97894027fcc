#pragma once
/// @file embeddings.h
/// Input embeddings of the SD3 MMDiT, numerically as diffusers v0.33.1
/// `models/embeddings.py`: the patch embedding with its checkpoint positional
/// table, the sinusoidal timestep embedding, and the combined timestep + pooled
/// text conditioning.

#include <torch/torch.h>

namespace flowgrpo::models {

/// embeddings.py::get_timestep_embedding, in float32 whatever the input dtype:
///     f_k = exp(-ln(max_period)·k / (half - downscale_freq_shift)), k < half = dim/2
///     a = t[:, None]·f;  emb = scale·a;  [sin ‖ cos]  (flip_sin_to_cos → [cos ‖ sin])
/// An odd `dim` is zero-padded by one column as in diffusers.
/// @param timesteps [B] (any floating or integer dtype).
/// @return [B, dim] float32.
/// @throws c10::Error if timesteps is not 1-D.
torch::Tensor get_timestep_embedding(const torch::Tensor& timesteps, int64_t dim, bool flip_sin_to_cos,
                                     double downscale_freq_shift = 1.0, double scale = 1.0,
                                     double max_period = 10000.0);

/// The 2-D sine-cosine positional table SD3 checkpoints store in
/// `pos_embed.pos_embed` (diffusers embeddings.py::get_2d_sincos_pos_embed with
/// grid_size = max_size, base_size, interpolation 1), computed in float64:
/// row r·max_size + c = [E(c·base/max) ‖ E(r·base/max)], the first half of the
/// channels encoding the column, E(p) = [sin(p·ω_k) ‖ cos(p·ω_k)], ω_k = 10000^(−k/(D/4)).
/// Used to initialise a model trained from scratch; pretrained checkpoints load theirs.
/// @return [1, max_size², embed_dim] float32.
/// @throws std::invalid_argument unless embed_dim is divisible by 4 and sizes are positive.
torch::Tensor sd3_sincos_pos_embed(int64_t embed_dim, int64_t max_size, int64_t base_size);

/// diffusers `PatchEmbed` as SD3 builds it (sincos table of side
/// pos_embed_max_size, stored as the persistent buffer `pos_embed`
/// [1, max², D] and loaded from the checkpoint — never recomputed here; it is
/// zero until loaded). `proj`: Conv2d(C → D, kernel = stride = patch_size).
///
/// forward: proj(x).flatten(2).transpose(1, 2) + the table centre-cropped to the
/// patch grid (top = (max − h) // 2, left = (max − w) // 2), cast to the conv
/// output's dtype. Token index = row·w + col.
class PatchEmbedImpl : public torch::nn::Module {
 public:
  PatchEmbedImpl(int64_t patch_size, int64_t in_channels, int64_t embed_dim, int64_t pos_embed_max_size);

  /// @param x [B, C, H, W]. @return [B, (H/p)·(W/p), D].
  /// @throws std::invalid_argument if x is not 4-D, has the wrong channel count,
  ///         H or W is not divisible by the patch size, or the patch grid is larger
  ///         than the positional table.
  torch::Tensor forward(const torch::Tensor& x);

  /// The table rows for an (H, W) latent, [1, (H/p)·(W/p), D]
  /// (embeddings.py::PatchEmbed.cropped_pos_embed). Throws as forward().
  torch::Tensor cropped_pos_embed(int64_t height, int64_t width) const;

  torch::nn::Conv2d proj{nullptr};
  torch::Tensor pos_embed;  ///< Buffer [1, pos_embed_max_size², D].

 private:
  int64_t patch_size_;
  int64_t in_channels_;
  int64_t pos_embed_max_size_;
};
TORCH_MODULE(PatchEmbed);

/// diffusers `TimestepEmbedding(in, D)`: linear_2(SiLU(linear_1(x))).
class TimestepEmbeddingImpl : public torch::nn::Module {
 public:
  TimestepEmbeddingImpl(int64_t in_channels, int64_t time_embed_dim);
  torch::Tensor forward(const torch::Tensor& x);
};
TORCH_MODULE(TimestepEmbedding);

/// diffusers `PixArtAlphaTextProjection(in, D, act_fn="silu")`: linear_2(SiLU(linear_1(x))).
class PixArtAlphaTextProjectionImpl : public torch::nn::Module {
 public:
  PixArtAlphaTextProjectionImpl(int64_t in_features, int64_t hidden_size);
  torch::Tensor forward(const torch::Tensor& x);
};
TORCH_MODULE(PixArtAlphaTextProjection);

/// diffusers `CombinedTimestepTextProjEmbeddings(D, pooled_dim)`:
///     temb = timestep_embedder(time_proj(t).to(pooled.dtype)) + text_embedder(pooled)
/// with time_proj = Timesteps(256, flip_sin_to_cos=True, downscale_freq_shift=0).
class CombinedTimestepTextProjEmbeddingsImpl : public torch::nn::Module {
 public:
  CombinedTimestepTextProjEmbeddingsImpl(int64_t embedding_dim, int64_t pooled_projection_dim);

  /// @param timestep [B] in the 0..1000 scale. @param pooled [B, pooled_dim]. @return [B, D].
  torch::Tensor forward(const torch::Tensor& timestep, const torch::Tensor& pooled);
  /// The 256-channel sinusoidal projection alone, float32 [B, 256].
  torch::Tensor time_proj(const torch::Tensor& timestep) const;

  TimestepEmbedding timestep_embedder{nullptr};
  PixArtAlphaTextProjection text_embedder{nullptr};
};
TORCH_MODULE(CombinedTimestepTextProjEmbeddings);

}  // namespace flowgrpo::models
