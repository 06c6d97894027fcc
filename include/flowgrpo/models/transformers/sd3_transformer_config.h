#pragma once
/// @file sd3_transformer_config.h
/// The configuration of diffusers' `SD3Transformer2DModel` (SD3 / SD3.5 MMDiT),
/// read from a diffusers `transformer/config.json`.
///
/// Keys and defaults are those of the `__init__` signature of
/// diffusers v0.33.1 `models/transformers/transformer_sd3.py::SD3Transformer2DModel`:
/// a key absent from the file takes the diffusers default (as diffusers does),
/// an unknown key is an error (flowgrpo refuses to silently ignore settings).

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace flowgrpo::models {

/// Hyper-parameters of the SD3 MMDiT transformer. Default member values are the
/// diffusers v0.33.1 defaults of `SD3Transformer2DModel.__init__`.
struct SD3TransformerConfig {
  int64_t sample_size = 128;  ///< Latent side the positional table was built for (unused by forward).
  int64_t patch_size = 2;
  int64_t in_channels = 16;
  int64_t out_channels = 16;  ///< `null` in the file means in_channels (diffusers' default_out_channels).
  int64_t num_layers = 18;
  int64_t attention_head_dim = 64;
  int64_t num_attention_heads = 18;
  int64_t joint_attention_dim = 4096;          ///< Feature size of encoder_hidden_states.
  int64_t caption_projection_dim = 1152;       ///< Must equal heads · head_dim.
  int64_t pooled_projection_dim = 2048;        ///< Feature size of pooled_projections.
  int64_t pos_embed_max_size = 96;             ///< Side of the square positional table (in patches).
  std::vector<int64_t> dual_attention_layers;  ///< Blocks with a second self-attention (MMDiT-X).
  std::optional<std::string> qk_norm;          ///< std::nullopt or "rms_norm".

  /// heads · head_dim, the model width D.
  int64_t inner_dim() const { return num_attention_heads * attention_head_dim; }
  /// Whether block `index` has `attn2` (SD35AdaLayerNormZeroX norm1).
  bool is_dual_attention_layer(int64_t index) const;

  /// One torch::nn::Linear of the module tree this config builds.
  struct LinearShape {
    std::string name;  ///< as named_modules() gives it, e.g. "transformer_blocks.3.attn.to_q"
    int64_t in_features = 0, out_features = 0;
  };
  /// Every Linear layer (all have a bias), in module order, derived from the config
  /// alone: what a LoRA adapter can target, and the bulk of the parameters.
  std::vector<LinearShape> linear_layers() const;
  /// Parameters of the module tree (Linear layers, the patch convolution, the qk
  /// RMSNorm scales), computed without building it; the positional table is a buffer,
  /// counted by pos_embed_elements().
  int64_t num_parameters() const;
  /// Elements of the `pos_embed.pos_embed` buffer, pos_embed_max_size² · inner_dim().
  int64_t pos_embed_elements() const { return pos_embed_max_size * pos_embed_max_size * inner_dim(); }

  /// Checks every value (positive sizes, caption_projection_dim == inner_dim,
  /// dual layer indices within [0, num_layers) and unique, qk_norm value).
  /// @throws std::invalid_argument naming the key, the value and what is allowed.
  void validate() const;

  /// Parses a config.json object. Keys starting with "_" that diffusers writes as
  /// metadata (`_class_name`, `_diffusers_version`, `_name_or_path`,
  /// `_use_default_values`, `_commit_hash`) are accepted and ignored, except that
  /// `_class_name`, when present, must be "SD3Transformer2DModel".
  /// @param source used in error messages (usually the file path).
  /// @throws std::invalid_argument naming the key and `source` for an unknown key,
  ///         a value of the wrong JSON type, or a value validate() rejects.
  static SD3TransformerConfig from_json(const nlohmann::json& json, const std::string& source = "config");

  /// Reads and parses a config.json file.
  /// @throws std::invalid_argument naming the file if it cannot be read, is not
  ///         valid JSON, or from_json rejects it.
  static SD3TransformerConfig from_file(const std::filesystem::path& path);

  /// The config as diffusers writes it (with `_class_name`), so that
  /// from_json(to_json()) round-trips.
  nlohmann::json to_json() const;

  /// stabilityai/stable-diffusion-3.5-medium (MMDiT-X: 24 layers, D = 1536,
  /// blocks 0..12 dual attention, qk RMSNorm, 384² positional table).
  static SD3TransformerConfig sd35_medium();
  /// stabilityai/stable-diffusion-3-medium-diffusers (24 layers, D = 1536,
  /// no dual attention, no qk norm, 192² positional table).
  static SD3TransformerConfig sd3_medium();

  bool operator==(const SD3TransformerConfig& other) const;
  bool operator!=(const SD3TransformerConfig& other) const { return !(*this == other); }
};

}  // namespace flowgrpo::models
