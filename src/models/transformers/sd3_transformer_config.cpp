#include "flowgrpo/models/transformers/sd3_transformer_config.h"

#include "models/config_json.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace flowgrpo::models {

namespace {

using nlohmann::json;

constexpr const char* kClassName = "SD3Transformer2DModel";

const std::vector<std::string>& known_keys() {
  static const std::vector<std::string> keys{"sample_size",
                                             "patch_size",
                                             "in_channels",
                                             "out_channels",
                                             "num_layers",
                                             "attention_head_dim",
                                             "num_attention_heads",
                                             "joint_attention_dim",
                                             "caption_projection_dim",
                                             "pooled_projection_dim",
                                             "pos_embed_max_size",
                                             "dual_attention_layers",
                                             "qk_norm"};
  return keys;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

void require_positive(int64_t value, const char* key, const std::string& source) {
  if (value < 1) detail::config_key_error(source, key, "must be >= 1, found " + std::to_string(value));
}

}  // namespace

bool SD3TransformerConfig::is_dual_attention_layer(int64_t index) const {
  return std::find(dual_attention_layers.begin(), dual_attention_layers.end(), index) !=
         dual_attention_layers.end();
}

void SD3TransformerConfig::validate() const {
  const std::string source = "SD3TransformerConfig";
  require_positive(sample_size, "sample_size", source);
  require_positive(patch_size, "patch_size", source);
  require_positive(in_channels, "in_channels", source);
  require_positive(out_channels, "out_channels", source);
  require_positive(num_layers, "num_layers", source);
  require_positive(attention_head_dim, "attention_head_dim", source);
  require_positive(num_attention_heads, "num_attention_heads", source);
  require_positive(joint_attention_dim, "joint_attention_dim", source);
  require_positive(caption_projection_dim, "caption_projection_dim", source);
  require_positive(pooled_projection_dim, "pooled_projection_dim", source);
  require_positive(pos_embed_max_size, "pos_embed_max_size", source);
  // The context stream is concatenated with the image stream inside the joint
  // attention, so both must have the model width (transformer_sd3.py builds
  // context_embedder with caption_projection_dim outputs and the blocks with inner_dim).
  if (caption_projection_dim != inner_dim()) {
    detail::config_key_error(
        source, "caption_projection_dim",
        "must equal num_attention_heads * attention_head_dim = " + std::to_string(num_attention_heads) +
            " * " + std::to_string(attention_head_dim) + " = " + std::to_string(inner_dim()) + ", found " +
            std::to_string(caption_projection_dim));
  }
  std::set<int64_t> seen;
  for (int64_t i : dual_attention_layers) {
    if (i < 0 || i >= num_layers) {
      detail::config_key_error(
          source, "dual_attention_layers",
          "index " + std::to_string(i) + " outside [0, num_layers = " + std::to_string(num_layers) + ")");
    }
    if (!seen.insert(i).second)
      detail::config_key_error(source, "dual_attention_layers", "index " + std::to_string(i) + " repeated");
  }
  if (qk_norm && *qk_norm != "rms_norm")
    detail::config_key_error(source, "qk_norm",
                             "unsupported value \"" + *qk_norm + "\" (supported: null, \"rms_norm\")");
}

SD3TransformerConfig SD3TransformerConfig::from_json(const json& j, const std::string& source) {
  if (!j.is_object())
    throw std::invalid_argument(source + ": expected a JSON object, found " + j.type_name());
  SD3TransformerConfig c;
  bool out_channels_null = false;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    if (detail::diffusers_config_metadata_keys().count(key)) {
      if (key == "_class_name" && v != json(kClassName)) {
        detail::config_key_error(source, key,
                                 std::string("this file describes a ") + detail::config_json_text(v) +
                                     ", not an " + kClassName + " (wrong model component?)");
      }
      continue;
    }
    if (key == "sample_size") {
      c.sample_size = detail::config_int(v, key, source);
    } else if (key == "patch_size") {
      c.patch_size = detail::config_int(v, key, source);
    } else if (key == "in_channels") {
      c.in_channels = detail::config_int(v, key, source);
    } else if (key == "out_channels") {
      out_channels_null = v.is_null();  // resolved below, once in_channels is known
      if (!out_channels_null) c.out_channels = detail::config_int(v, key, source);
    } else if (key == "num_layers") {
      c.num_layers = detail::config_int(v, key, source);
    } else if (key == "attention_head_dim") {
      c.attention_head_dim = detail::config_int(v, key, source);
    } else if (key == "num_attention_heads") {
      c.num_attention_heads = detail::config_int(v, key, source);
    } else if (key == "joint_attention_dim") {
      c.joint_attention_dim = detail::config_int(v, key, source);
    } else if (key == "caption_projection_dim") {
      c.caption_projection_dim = detail::config_int(v, key, source);
    } else if (key == "pooled_projection_dim") {
      c.pooled_projection_dim = detail::config_int(v, key, source);
    } else if (key == "pos_embed_max_size") {
      if (v.is_null())
        detail::config_key_error(
            source, key,
            "null (a positional table computed from sample_size) is not supported by SD3 checkpoints");
      c.pos_embed_max_size = detail::config_int(v, key, source);
    } else if (key == "dual_attention_layers") {
      if (!v.is_array())
        detail::config_key_error(source, key,
                                 "expected an array of block indices, found " + detail::config_json_text(v));
      c.dual_attention_layers.clear();
      for (const auto& e : v) c.dual_attention_layers.push_back(detail::config_int(e, key, source));
    } else if (key == "qk_norm") {
      if (v.is_null()) {
        c.qk_norm.reset();
      } else if (v.is_string()) {
        c.qk_norm = v.get<std::string>();
      } else {
        detail::config_key_error(source, key,
                                 "expected null or a string, found " + detail::config_json_text(v));
      }
    } else {
      throw std::invalid_argument(source + ": unknown config key \"" + key + "\" for " + kClassName +
                                  " (known keys: " + join(known_keys()) + ")");
    }
  }
  // diffusers: `out_channels if out_channels is not None else in_channels`.
  if (out_channels_null) c.out_channels = c.in_channels;
  try {
    c.validate();
  } catch (const std::invalid_argument& e) {
    std::string msg = e.what();
    const std::string prefix = "SD3TransformerConfig: ";
    if (msg.rfind(prefix, 0) == 0) msg = msg.substr(prefix.size());
    throw std::invalid_argument(source + ": " + msg);
  }
  return c;
}

SD3TransformerConfig SD3TransformerConfig::from_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("cannot open transformer config " + path.string());
  json j;
  try {
    in >> j;
  } catch (const json::exception& e) {
    throw std::invalid_argument(path.string() + ": not valid JSON: " + e.what());
  }
  return from_json(j, path.string());
}

json SD3TransformerConfig::to_json() const {
  json j;
  j["_class_name"] = kClassName;
  j["sample_size"] = sample_size;
  j["patch_size"] = patch_size;
  j["in_channels"] = in_channels;
  j["out_channels"] = out_channels;
  j["num_layers"] = num_layers;
  j["attention_head_dim"] = attention_head_dim;
  j["num_attention_heads"] = num_attention_heads;
  j["joint_attention_dim"] = joint_attention_dim;
  j["caption_projection_dim"] = caption_projection_dim;
  j["pooled_projection_dim"] = pooled_projection_dim;
  j["pos_embed_max_size"] = pos_embed_max_size;
  j["dual_attention_layers"] = dual_attention_layers;
  j["qk_norm"] = qk_norm ? json(*qk_norm) : json(nullptr);
  return j;
}

SD3TransformerConfig SD3TransformerConfig::sd35_medium() {
  SD3TransformerConfig c;
  c.sample_size = 128;
  c.patch_size = 2;
  c.in_channels = 16;
  c.out_channels = 16;
  c.num_layers = 24;
  c.attention_head_dim = 64;
  c.num_attention_heads = 24;
  c.joint_attention_dim = 4096;
  c.caption_projection_dim = 1536;
  c.pooled_projection_dim = 2048;
  c.pos_embed_max_size = 384;
  c.dual_attention_layers.clear();
  for (int64_t i = 0; i <= 12; ++i) c.dual_attention_layers.push_back(i);
  c.qk_norm = "rms_norm";
  return c;
}

SD3TransformerConfig SD3TransformerConfig::sd3_medium() {
  SD3TransformerConfig c = sd35_medium();
  c.pos_embed_max_size = 192;
  c.dual_attention_layers.clear();
  c.qk_norm.reset();
  return c;
}

bool SD3TransformerConfig::operator==(const SD3TransformerConfig& o) const {
  return sample_size == o.sample_size && patch_size == o.patch_size && in_channels == o.in_channels &&
         out_channels == o.out_channels && num_layers == o.num_layers &&
         attention_head_dim == o.attention_head_dim && num_attention_heads == o.num_attention_heads &&
         joint_attention_dim == o.joint_attention_dim && caption_projection_dim == o.caption_projection_dim &&
         pooled_projection_dim == o.pooled_projection_dim && pos_embed_max_size == o.pos_embed_max_size &&
         dual_attention_layers == o.dual_attention_layers && qk_norm == o.qk_norm;
}

std::vector<SD3TransformerConfig::LinearShape> SD3TransformerConfig::linear_layers() const {
  // transformer_sd3.py / attention.py / normalization.py / embeddings.py (diffusers v0.33.1).
  const int64_t d = inner_dim();
  std::vector<LinearShape> out{{"time_text_embed.timestep_embedder.linear_1", 256, d},
                               {"time_text_embed.timestep_embedder.linear_2", d, d},
                               {"time_text_embed.text_embedder.linear_1", pooled_projection_dim, d},
                               {"time_text_embed.text_embedder.linear_2", d, d},
                               {"context_embedder", joint_attention_dim, caption_projection_dim}};
  for (int64_t i = 0; i < num_layers; ++i) {
    const std::string b = "transformer_blocks." + std::to_string(i) + ".";
    const bool last = i == num_layers - 1;  // context_pre_only
    const bool dual = is_dual_attention_layer(i);
    out.push_back({b + "norm1.linear", d, (dual ? 9 : 6) * d});
    out.push_back({b + "norm1_context.linear", d, (last ? 2 : 6) * d});
    for (const char* n : {"attn.to_q", "attn.to_k", "attn.to_v"}) out.push_back({b + n, d, d});
    for (const char* n : {"attn.add_k_proj", "attn.add_v_proj", "attn.add_q_proj"})
      out.push_back({b + n, d, d});
    out.push_back({b + "attn.to_out.0", d, d});
    if (!last) out.push_back({b + "attn.to_add_out", d, d});
    if (dual)
      for (const char* n : {"attn2.to_q", "attn2.to_k", "attn2.to_v", "attn2.to_out.0"})
        out.push_back({b + n, d, d});
    out.push_back({b + "ff.net.0.proj", d, 4 * d});
    out.push_back({b + "ff.net.2", 4 * d, d});
    if (!last) {
      out.push_back({b + "ff_context.net.0.proj", d, 4 * d});
      out.push_back({b + "ff_context.net.2", 4 * d, d});
    }
  }
  out.push_back({"norm_out.linear", d, 2 * d});
  out.push_back({"proj_out", d, patch_size * patch_size * out_channels});
  return out;
}

int64_t SD3TransformerConfig::num_parameters() const {
  int64_t n = inner_dim() * in_channels * patch_size * patch_size + inner_dim();  // pos_embed.proj
  for (const auto& l : linear_layers()) n += l.in_features * l.out_features + l.out_features;
  if (qk_norm) {
    // attn.norm_q, norm_k, norm_added_q, norm_added_k in every block; attn2.norm_q, norm_k
    // in the dual-attention blocks.
    const int64_t dual = static_cast<int64_t>(dual_attention_layers.size());
    n += attention_head_dim * (4 * num_layers + 2 * dual);
  }
  return n;
}

}  // namespace flowgrpo::models
