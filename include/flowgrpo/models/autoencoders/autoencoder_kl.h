#pragma once
/// @file autoencoder_kl.h
/// The KL autoencoder (VAE) of SD3 / SD3.5 / FLUX: diffusers v0.33.1
/// `models/autoencoders/autoencoder_kl.py::AutoencoderKL`, with the same module
/// tree, so that `named_parameters()` equal the keys of a diffusers
/// `vae/diffusion_pytorch_model.safetensors` exactly:
///
///     encoder          VAEEncoder (conv_in, down_blocks, mid_block, conv_norm_out, conv_out)
///     quant_conv       Conv 1×1, 2·latent → 2·latent        (only with use_quant_conv)
///     post_quant_conv  Conv 1×1, latent → latent            (only with use_post_quant_conv)
///     decoder          VAEDecoder (conv_in, mid_block, up_blocks, conv_norm_out, conv_out)
///
/// Spaces. Images are in [−1, 1] (the pipelines' normalised images); `z` is the
/// VAE's own latent; "model space" is what the diffusion transformer sees,
/// (z − shift_factor)·scaling_factor (models.md §2). decode_to_image01 is the
/// SD3 pipeline's post-processing.
///
/// Precision: computes in the parameters' dtype (flow_grpo keeps the VAE in
/// float32); inputs are converted to the parameters' dtype and device.

#include "flowgrpo/models/autoencoders/autoencoder_kl_config.h"
#include "flowgrpo/models/autoencoders/diagonal_gaussian_distribution.h"
#include "flowgrpo/models/autoencoders/vae_decoder.h"
#include "flowgrpo/models/autoencoders/vae_encoder.h"
#include "flowgrpo/models/load_options.h"

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>

namespace flowgrpo::io {
class WeightSource;
}

namespace flowgrpo::models {

using AutoencoderKLLoadOptions = LoadOptions;

class AutoencoderKLImpl : public torch::nn::Module {
 public:
  /// Builds the module tree for `config` (validated first) with parameters of
  /// `dtype` on `device`; weights are LibTorch's default initialisation until loaded.
  /// @throws std::invalid_argument if config.validate() fails.
  explicit AutoencoderKLImpl(const AutoencoderKLConfig& config, torch::Dtype dtype = torch::kFloat,
                             torch::Device device = torch::kCPU);

  /// diffusers `encode(x).latent_dist`: encoder (+ quant_conv), then the moments
  /// split into mean and clamped logvar. Runs in chunks of slice_size() images.
  /// @param image [B, in_channels, H, W] in [−1, 1], H and W multiples of
  ///        spatial_scale_factor() (8 for SD3 / FLUX).
  /// @return the distribution over z, [B, latent_channels, H/f, W/f] each.
  /// @throws std::invalid_argument naming the expected and found shape for a wrong
  ///         rank, channel count, an empty batch or a side not divisible by the factor.
  DiagonalGaussianDistribution encode(const torch::Tensor& image);

  /// diffusers `decode(z).sample`: post_quant_conv (if any) then the decoder;
  /// unclamped, nominally [−1, 1]. Runs in chunks of slice_size() latents, so
  /// the activations of only one chunk are alive at a time.
  /// @param z [B, latent_channels, h, w] in VAE space (see from_model_space).
  /// @param record if given, receives the decoder's activations
  ///        (VAEDecoderImpl::forward, names `decoder.*`); the batch is then decoded
  ///        in one piece whatever slice_size() says.
  /// @return [B, out_channels, h·f, w·f] in the parameters' dtype.
  /// @throws std::invalid_argument naming the expected and found shape for a wrong
  ///         rank, channel count or an empty batch / spatial size.
  torch::Tensor decode(const torch::Tensor& z, ActivationRecord* record = nullptr);

  /// diffusers `forward(sample, sample_posterior=False)`: decode(encode(image).mode()).
  torch::Tensor forward(const torch::Tensor& image);

  /// VAE latent → model space: (z − shift_factor)·scaling_factor (SD3 / FLUX
  /// training and image-to-latent; diffusers' pipelines in this order). Computed
  /// in z's dtype, on z's device.
  torch::Tensor to_model_space(const torch::Tensor& z) const;
  /// Model space → VAE latent: latents / scaling_factor + shift_factor (the SD3
  /// pipeline before `vae.decode`). Computed in the latents' dtype, on their device.
  torch::Tensor from_model_space(const torch::Tensor& latents) const;
  /// The SD3 pipeline's image output (`output_type="pt"`, what flow_grpo scores):
  /// clamp(decode(from_model_space(latents))·0.5 + 0.5, 0, 1), [B, out_channels,
  /// h·f, w·f] in the parameters' dtype. @throws as decode().
  torch::Tensor decode_to_image01(const torch::Tensor& latents);

  /// Images (encode) or latents (decode) per chunk: diffusers' `enable_slicing()`
  /// is 1; 0 (the default) processes the whole batch at once. Results equal the
  /// whole-batch ones (every layer is per-sample).
  /// @throws std::invalid_argument if batch_chunk < 0.
  void set_slice_size(int64_t batch_chunk);
  int64_t slice_size() const { return slice_size_; }

  const AutoencoderKLConfig& config() const { return config_; }
  /// Image side / latent side, 2^(len(block_out_channels) − 1).
  int64_t spatial_scale_factor() const { return config_.spatial_scale_factor(); }
  /// dtype / device of the parameters (of decoder.conv_in.weight).
  torch::Dtype dtype() const;
  torch::Device device() const;

  /// Loads the weights strictly: every parameter must be in `source` with its
  /// exact name and shape and nothing else may be; tensors are converted to the
  /// parameters' dtype. The legacy attention names of older diffusers files
  /// (`query`, `key`, `value`, `proj_attn` for `to_q`, `to_k`, `to_v`,
  /// `to_out.0`, and their [C, C, 1, 1] 1×1-convolution form) are accepted through one alias table.
  /// @throws std::invalid_argument listing every missing, unexpected and
  ///         mis-shaped tensor at once (the model is untouched then).
  void load_weights(const io::WeightSource& source);

  /// Writes a diffusers component folder: `dir/config.json` (config().to_json())
  /// and `dir/diffusion_pytorch_model.safetensors` (every parameter, current names,
  /// the parameters' dtype), which diffusers' `AutoencoderKL.from_pretrained(dir)`
  /// and from_pretrained() read. Creates `dir` if needed.
  /// @throws std::runtime_error naming the file if writing fails.
  void save_pretrained(const std::filesystem::path& dir) const;

  VAEEncoder encoder{nullptr};
  VAEDecoder decoder{nullptr};
  torch::nn::Conv2d quant_conv{nullptr};       ///< Null unless use_quant_conv.
  torch::nn::Conv2d post_quant_conv{nullptr};  ///< Null unless use_post_quant_conv.

 private:
  torch::Tensor encode_moments(const torch::Tensor& image);
  torch::Tensor decode_latents(const torch::Tensor& z, ActivationRecord* record);

  AutoencoderKLConfig config_;
  int64_t slice_size_ = 0;
};

/// Module holder for AutoencoderKLImpl (TORCH_MODULE plus from_pretrained).
class AutoencoderKL : public torch::nn::ModuleHolder<AutoencoderKLImpl> {
 public:
  using torch::nn::ModuleHolder<AutoencoderKLImpl>::ModuleHolder;
  using Impl = AutoencoderKLImpl;

  /// Loads a diffusers AutoencoderKL in eval mode.
  /// @param path one of
  ///   - a pipeline folder containing `vae/config.json` and the weights there;
  ///   - a component folder with `config.json` and `diffusion_pytorch_model.safetensors`
  ///     (or its sharded `.safetensors.index.json` form, see io::WeightSource::open);
  ///   - a weights file (`.safetensors` or `.index.json`) with `config.json` beside it.
  /// Weights may be F32, F16 or BF16 and are converted to options.dtype.
  /// @throws std::invalid_argument naming the path for a missing config or weights,
  ///         a bad config (AutoencoderKLConfig::from_file) or a strict-loading
  ///         failure (every missing / unexpected / mis-shaped tensor listed).
  static AutoencoderKL from_pretrained(const std::filesystem::path& path,
                                       const AutoencoderKLLoadOptions& options = {});
};

}  // namespace flowgrpo::models
