#pragma once
/// @file autoencoder_kl_config.h
/// The configuration of diffusers' `AutoencoderKL`, read from (and written as) a
/// diffusers `vae/config.json`.
///
/// Keys and defaults are those of the `__init__` signature of diffusers v0.33.1
/// `models/autoencoders/autoencoder_kl.py::AutoencoderKL`: a key absent from the
/// file takes the diffusers default (as diffusers does); an unknown key is an
/// error (flowgrpo refuses to silently ignore settings). Only the architecture
/// the SD3 / SD3.5 / FLUX VAEs use is supported: `DownEncoderBlock2D` /
/// `UpDecoderBlock2D` blocks, SiLU activations, group norms.

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace flowgrpo::models {

/// Hyper-parameters of an AutoencoderKL. Default member values are the diffusers
/// v0.33.1 defaults of `AutoencoderKL.__init__`.
struct AutoencoderKLConfig {
  int64_t in_channels = 3;   ///< Image channels the encoder takes.
  int64_t out_channels = 3;  ///< Image channels the decoder returns.
  /// One per resolution level, all "DownEncoderBlock2D"; as many as block_out_channels.
  std::vector<std::string> down_block_types{"DownEncoderBlock2D"};
  /// One per resolution level, all "UpDecoderBlock2D"; as many as block_out_channels.
  std::vector<std::string> up_block_types{"UpDecoderBlock2D"};
  /// Channels of each encoder level (the decoder runs them in reverse order).
  /// Every level but the last halves (encoder) / doubles (decoder) the resolution.
  std::vector<int64_t> block_out_channels{64};
  /// Resnets per encoder block; decoder blocks have layers_per_block + 1.
  int64_t layers_per_block = 1;
  std::string act_fn = "silu";   ///< "silu" (or its diffusers alias "swish").
  int64_t latent_channels = 4;   ///< Channels of z; the encoder outputs 2·latent_channels (mean, logvar).
  int64_t norm_num_groups = 32;  ///< Groups of every GroupNorm; must divide every block_out_channels entry.
  /// Image side the VAE was trained at (diffusers uses it only for tiling): one
  /// value, or [height, width] when the file gives a pair.
  std::vector<int64_t> sample_size{32};
  /// Latent scaling of the pipelines: model-space latents = (z − shift_factor)·scaling_factor.
  double scaling_factor = 0.18215;
  /// `null` in the file (diffusers' default, SD1/SDXL) means no shift: 0.
  double shift_factor = 0.0;
  /// Per-channel latent statistics some pipelines use (not SD3 / FLUX); kept for
  /// round-tripping, unused by the model. nullopt = `null`.
  std::optional<std::vector<double>> latents_mean;
  std::optional<std::vector<double>> latents_std;
  /// diffusers' hint that the VAE must run in float32 at high resolution; the SD3
  /// pipeline ignores it and so does the model (the caller picks the dtype).
  bool force_upcast = true;
  bool use_quant_conv = true;           ///< 1×1 `quant_conv` (2·latent → 2·latent) after the encoder.
  bool use_post_quant_conv = true;      ///< 1×1 `post_quant_conv` (latent → latent) before the decoder.
  bool mid_block_add_attention = true;  ///< Single-head self-attention in both mid blocks.

  /// Number of resolution levels, len(block_out_channels).
  int64_t num_levels() const { return static_cast<int64_t>(block_out_channels.size()); }
  /// Image side / latent side: 2^(num_levels − 1) (8 for the SD3 / FLUX VAE).
  int64_t spatial_scale_factor() const { return int64_t{1} << (num_levels() - 1); }

  /// Checks every value: positive sizes, block types and their counts, every
  /// block_out_channels entry divisible by norm_num_groups, act_fn, finite
  /// scaling_factor > 0 and shift_factor, latents_mean/std lengths.
  /// @param source used in error messages (the file path when parsing).
  /// @throws std::invalid_argument naming source, the key, what is expected and what was found.
  void validate(const std::string& source = "AutoencoderKLConfig") const;

  /// Parses a config.json object. Keys starting with "_" that diffusers writes as
  /// metadata (`_class_name`, `_diffusers_version`, `_name_or_path`,
  /// `_use_default_values`, `_commit_hash`) are accepted and ignored, except that
  /// `_class_name`, when present, must be "AutoencoderKL".
  /// @param source used in error messages (usually the file path).
  /// @throws std::invalid_argument naming `source` and the key for an unknown key,
  ///         a value of the wrong JSON type, or a value validate() rejects.
  static AutoencoderKLConfig from_json(const nlohmann::json& json, const std::string& source = "config");

  /// Reads and parses a config.json file (io::read_json_file).
  /// @throws std::invalid_argument naming the file if it cannot be read, is not
  ///         valid JSON, or from_json rejects it.
  static AutoencoderKLConfig from_file(const std::filesystem::path& path);

  /// The config as diffusers writes it (`_class_name` "AutoencoderKL", every
  /// key), so that from_json(to_json()) round-trips and diffusers'
  /// `AutoencoderKL.from_pretrained` reads it.
  nlohmann::json to_json() const;

  /// Writes to_json() to `path` (pretty-printed, atomically), e.g. DIR/vae/config.json.
  /// @throws std::invalid_argument if validate() fails; std::runtime_error naming
  ///         the file if it cannot be written.
  void save(const std::filesystem::path& path) const;

  /// The SD3 / SD3.5 VAE (stabilityai/stable-diffusion-3.5-medium `vae/`):
  /// [128,256,512,512], 2 layers, 16 latent channels, 32 groups, no quant convs,
  /// scaling 1.5305, shift 0.0609, sample_size 1024.
  static AutoencoderKLConfig sd3();
  /// The FLUX.1 VAE (black-forest-labs/FLUX.1-dev `vae/`): the SD3 architecture
  /// with scaling 0.3611, shift 0.1159.
  static AutoencoderKLConfig flux();

  bool operator==(const AutoencoderKLConfig& other) const;
  bool operator!=(const AutoencoderKLConfig& other) const { return !(*this == other); }
};

}  // namespace flowgrpo::models
