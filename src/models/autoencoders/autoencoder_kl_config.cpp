#include "flowgrpo/models/autoencoders/autoencoder_kl_config.h"

#include "flowgrpo/io/text_file.h"
#include "models/config_json.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <stdexcept>

namespace flowgrpo::models {

namespace {

using nlohmann::json;

constexpr const char* kAutoencoderKLClassName = "AutoencoderKL";
constexpr const char* kDownEncoderBlock = "DownEncoderBlock2D";
constexpr const char* kUpDecoderBlock = "UpDecoderBlock2D";

const char* const kVaeConfigKnownKeys =
    "in_channels, out_channels, down_block_types, up_block_types, block_out_channels, layers_per_block, "
    "act_fn, latent_channels, norm_num_groups, sample_size, scaling_factor, shift_factor, latents_mean, "
    "latents_std, force_upcast, use_quant_conv, use_post_quant_conv, mid_block_add_attention";

std::vector<int64_t> vae_config_int_list(const json& v, const std::string& key, const std::string& source) {
  if (!v.is_array())
    detail::config_key_error(source, key,
                             "expected an array of integers, found " + detail::config_json_text(v));
  std::vector<int64_t> out;
  for (const auto& e : v) {
    if (!e.is_number_integer())
      detail::config_key_error(source, key,
                               "expected an array of integers, found element " + detail::config_json_text(e));
    out.push_back(e.get<int64_t>());
  }
  return out;
}

std::vector<std::string> vae_config_string_list(const json& v, const std::string& key,
                                                const std::string& source) {
  if (!v.is_array())
    detail::config_key_error(source, key,
                             "expected an array of strings, found " + detail::config_json_text(v));
  std::vector<std::string> out;
  for (const auto& e : v) {
    if (!e.is_string())
      detail::config_key_error(source, key,
                               "expected an array of strings, found element " + detail::config_json_text(e));
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::optional<std::vector<double>> vae_config_optional_numbers(const json& v, const std::string& key,
                                                               const std::string& source) {
  if (v.is_null()) return std::nullopt;
  if (!v.is_array())
    detail::config_key_error(source, key,
                             "expected null or an array of numbers, found " + detail::config_json_text(v));
  std::vector<double> out;
  for (const auto& e : v) {
    if (!e.is_number())
      detail::config_key_error(
          source, key, "expected null or an array of numbers, found element " + detail::config_json_text(e));
    out.push_back(e.get<double>());
  }
  return out;
}

std::string vae_config_list_string(const std::vector<int64_t>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + std::to_string(values[i]);
  return out + "]";
}

void vae_config_check_blocks(const std::vector<std::string>& types, const char* key, const char* allowed,
                             size_t levels, const std::string& source) {
  for (size_t i = 0; i < types.size(); ++i) {
    if (types[i] != allowed) {
      detail::config_key_error(source, key,
                               "entry " + std::to_string(i) + ": expected \"" + allowed +
                                   "\" (the only block type " + "supported), found \"" + types[i] + "\"");
    }
  }
  // diffusers decides "is_final_block" from len(block_out_channels), so the lists
  // must line up or the resolution bookkeeping silently breaks.
  if (types.size() != levels) {
    detail::config_key_error(source, key,
                             "expected " + std::to_string(levels) +
                                 " entries (one per block_out_channels entry), found " +
                                 std::to_string(types.size()));
  }
}

void vae_config_check_stats(const std::optional<std::vector<double>>& stats, const char* key,
                            int64_t channels, const std::string& source) {
  if (!stats) return;
  if (static_cast<int64_t>(stats->size()) != channels) {
    detail::config_key_error(source, key,
                             "expected null or latent_channels = " + std::to_string(channels) +
                                 " values, found " + std::to_string(stats->size()));
  }
}

}  // namespace

void AutoencoderKLConfig::validate(const std::string& source) const {
  detail::config_require_positive(in_channels, "in_channels", source);
  detail::config_require_positive(out_channels, "out_channels", source);
  detail::config_require_positive(latent_channels, "latent_channels", source);
  detail::config_require_positive(layers_per_block, "layers_per_block", source);
  detail::config_require_positive(norm_num_groups, "norm_num_groups", source);
  if (block_out_channels.empty())
    detail::config_key_error(source, "block_out_channels", "expected at least one entry, found []");
  // 2^(levels-1) must stay a sane integer scale factor.
  if (block_out_channels.size() > 16) {
    detail::config_key_error(
        source, "block_out_channels",
        "expected at most 16 entries, found " + std::to_string(block_out_channels.size()));
  }
  for (int64_t c : block_out_channels) {
    // Every GroupNorm of a level normalises that level's channels (resnets,
    // attention, conv_norm_out), so each entry must split into the groups.
    if (c < 1 || c % norm_num_groups != 0) {
      detail::config_key_error(
          source, "block_out_channels",
          "expected positive multiples of norm_num_groups = " + std::to_string(norm_num_groups) + ", found " +
              vae_config_list_string(block_out_channels));
    }
  }
  vae_config_check_blocks(down_block_types, "down_block_types", kDownEncoderBlock, block_out_channels.size(),
                          source);
  vae_config_check_blocks(up_block_types, "up_block_types", kUpDecoderBlock, block_out_channels.size(),
                          source);
  if (act_fn != "silu" && act_fn != "swish")
    detail::config_key_error(source, "act_fn", "expected \"silu\" (or \"swish\"), found \"" + act_fn + "\"");
  if (sample_size.empty() || sample_size.size() > 2) {
    detail::config_key_error(
        source, "sample_size",
        "expected an integer or [height, width], found " + vae_config_list_string(sample_size));
  }
  for (int64_t s : sample_size) detail::config_require_positive(s, "sample_size", source);
  // The pipelines divide by scaling_factor (from_model_space).
  if (!std::isfinite(scaling_factor) || scaling_factor <= 0.0)
    detail::config_key_error(
        source, "scaling_factor",
        "expected a finite number > 0, found " + detail::config_json_text(scaling_factor));
  if (!std::isfinite(shift_factor))
    detail::config_key_error(
        source, "shift_factor",
        "expected null or a finite number, found " + detail::config_json_text(shift_factor));
  vae_config_check_stats(latents_mean, "latents_mean", latent_channels, source);
  vae_config_check_stats(latents_std, "latents_std", latent_channels, source);
}

AutoencoderKLConfig AutoencoderKLConfig::from_json(const json& j, const std::string& source) {
  if (!j.is_object())
    throw std::invalid_argument(source + ": expected a JSON object, found " + j.type_name());
  AutoencoderKLConfig c;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    if (detail::diffusers_config_metadata_keys().count(key)) {
      if (key == "_class_name" && v != json(kAutoencoderKLClassName)) {
        detail::config_key_error(source, key,
                                 std::string("expected \"") + kAutoencoderKLClassName + "\", found " +
                                     detail::config_json_text(v) + " (wrong model component?)");
      }
      continue;
    }
    if (key == "in_channels") {
      c.in_channels = detail::config_int(v, key, source);
    } else if (key == "out_channels") {
      c.out_channels = detail::config_int(v, key, source);
    } else if (key == "down_block_types") {
      c.down_block_types = vae_config_string_list(v, key, source);
    } else if (key == "up_block_types") {
      c.up_block_types = vae_config_string_list(v, key, source);
    } else if (key == "block_out_channels") {
      c.block_out_channels = vae_config_int_list(v, key, source);
    } else if (key == "layers_per_block") {
      c.layers_per_block = detail::config_int(v, key, source);
    } else if (key == "act_fn") {
      c.act_fn = detail::config_string(v, key, source);
    } else if (key == "latent_channels") {
      c.latent_channels = detail::config_int(v, key, source);
    } else if (key == "norm_num_groups") {
      c.norm_num_groups = detail::config_int(v, key, source);
    } else if (key == "sample_size") {
      // diffusers accepts an int or a (height, width) pair.
      c.sample_size = v.is_array() ? vae_config_int_list(v, key, source)
                                   : std::vector<int64_t>{detail::config_int(v, key, source)};
    } else if (key == "scaling_factor") {
      c.scaling_factor = detail::config_number(v, key, source);
    } else if (key == "shift_factor") {
      // null (diffusers' default) = no shift; the pipelines treat it as 0.
      c.shift_factor = v.is_null() ? 0.0 : detail::config_number(v, key, source);
    } else if (key == "latents_mean") {
      c.latents_mean = vae_config_optional_numbers(v, key, source);
    } else if (key == "latents_std") {
      c.latents_std = vae_config_optional_numbers(v, key, source);
    } else if (key == "force_upcast") {
      c.force_upcast = detail::config_bool(v, key, source);
    } else if (key == "use_quant_conv") {
      c.use_quant_conv = detail::config_bool(v, key, source);
    } else if (key == "use_post_quant_conv") {
      c.use_post_quant_conv = detail::config_bool(v, key, source);
    } else if (key == "mid_block_add_attention") {
      c.mid_block_add_attention = detail::config_bool(v, key, source);
    } else {
      throw std::invalid_argument(source + ": unknown config key \"" + key + "\" for " +
                                  kAutoencoderKLClassName + " (known keys: " + kVaeConfigKnownKeys + ")");
    }
  }
  c.validate(source);
  return c;
}

AutoencoderKLConfig AutoencoderKLConfig::from_file(const std::filesystem::path& path) {
  return from_json(io::read_json_file(path), path.string());
}

json AutoencoderKLConfig::to_json() const {
  json j;
  j["_class_name"] = kAutoencoderKLClassName;
  j["in_channels"] = in_channels;
  j["out_channels"] = out_channels;
  j["down_block_types"] = down_block_types;
  j["up_block_types"] = up_block_types;
  j["block_out_channels"] = block_out_channels;
  j["layers_per_block"] = layers_per_block;
  j["act_fn"] = act_fn;
  j["latent_channels"] = latent_channels;
  j["norm_num_groups"] = norm_num_groups;
  j["sample_size"] = sample_size.size() == 1 ? json(sample_size[0]) : json(sample_size);
  j["scaling_factor"] = scaling_factor;
  j["shift_factor"] = shift_factor;
  j["latents_mean"] = latents_mean ? json(*latents_mean) : json(nullptr);
  j["latents_std"] = latents_std ? json(*latents_std) : json(nullptr);
  j["force_upcast"] = force_upcast;
  j["use_quant_conv"] = use_quant_conv;
  j["use_post_quant_conv"] = use_post_quant_conv;
  j["mid_block_add_attention"] = mid_block_add_attention;
  return j;
}

void AutoencoderKLConfig::save(const std::filesystem::path& path) const {
  validate();
  io::write_text_atomic(path, to_json().dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

AutoencoderKLConfig AutoencoderKLConfig::sd3() {
  // diffusers scripts/convert_sd3_to_diffusers.py and the published vae/config.json.
  AutoencoderKLConfig c;
  c.in_channels = 3;
  c.out_channels = 3;
  c.block_out_channels = {128, 256, 512, 512};
  c.down_block_types.assign(4, kDownEncoderBlock);
  c.up_block_types.assign(4, kUpDecoderBlock);
  c.layers_per_block = 2;
  c.act_fn = "silu";
  c.latent_channels = 16;
  c.norm_num_groups = 32;
  c.sample_size = {1024};
  c.scaling_factor = 1.5305;
  c.shift_factor = 0.0609;
  c.force_upcast = true;
  c.use_quant_conv = false;
  c.use_post_quant_conv = false;
  c.mid_block_add_attention = true;
  return c;
}

AutoencoderKLConfig AutoencoderKLConfig::flux() {
  AutoencoderKLConfig c = sd3();
  c.scaling_factor = 0.3611;
  c.shift_factor = 0.1159;
  return c;
}

bool AutoencoderKLConfig::operator==(const AutoencoderKLConfig& o) const {
  return in_channels == o.in_channels && out_channels == o.out_channels &&
         down_block_types == o.down_block_types && up_block_types == o.up_block_types &&
         block_out_channels == o.block_out_channels && layers_per_block == o.layers_per_block &&
         act_fn == o.act_fn && latent_channels == o.latent_channels && norm_num_groups == o.norm_num_groups &&
         sample_size == o.sample_size && scaling_factor == o.scaling_factor &&
         shift_factor == o.shift_factor && latents_mean == o.latents_mean && latents_std == o.latents_std &&
         force_upcast == o.force_upcast && use_quant_conv == o.use_quant_conv &&
         use_post_quant_conv == o.use_post_quant_conv && mid_block_add_attention == o.mid_block_add_attention;
}

}  // namespace flowgrpo::models
