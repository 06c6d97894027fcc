#include "flowgrpo/models/text_encoders/clip_text_config.h"

#include "flowgrpo/io/text_file.h"
#include "models/config_json.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <stdexcept>

namespace flowgrpo::models {

namespace {

using nlohmann::json;

constexpr const char* kCLIPTextModelType = "clip_text_model";
constexpr const char* kCLIPTextArchitecture = "CLIPTextModelWithProjection";

const char* const kCLIPTextConfigKnownKeys =
    "vocab_size, hidden_size, intermediate_size, projection_dim, num_hidden_layers, num_attention_heads, "
    "max_position_embeddings, hidden_act, layer_norm_eps, attention_dropout, dropout, initializer_range, "
    "initializer_factor, pad_token_id, bos_token_id, eos_token_id (and the generic PretrainedConfig keys)";

void clip_config_probability(double value, const char* key, const std::string& source) {
  if (!(value >= 0.0 && value < 1.0))
    detail::config_key_error(
        source, key, "expected a dropout probability in [0, 1), found " + detail::config_json_text(value));
}

void clip_config_non_negative(double value, const char* key, const std::string& source) {
  if (!std::isfinite(value) || value < 0.0)
    detail::config_key_error(source, key,
                             "expected a finite number >= 0, found " + detail::config_json_text(value));
}

void clip_config_token_id(const std::optional<int64_t>& id, const char* key, const std::string& source) {
  if (id && *id < 0)
    detail::config_key_error(source, key, "expected null or an id >= 0, found " + std::to_string(*id));
}

}  // namespace

std::string to_string(CLIPActivation activation) {
  switch (activation) {
    case CLIPActivation::kQuickGelu: return "quick_gelu";
    case CLIPActivation::kGelu: return "gelu";
    case CLIPActivation::kGeluTanh: return "gelu_pytorch_tanh";
  }
  throw std::logic_error("unknown CLIPActivation");
}

CLIPActivation parse_clip_activation(const std::string& name) {
  // transformers activations.py: ACT2FN["gelu_new"] (NewGELUActivation) and
  // ["gelu_pytorch_tanh"] are both the tanh approximation.
  if (name == "quick_gelu") return CLIPActivation::kQuickGelu;
  if (name == "gelu") return CLIPActivation::kGelu;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return CLIPActivation::kGeluTanh;
  throw std::invalid_argument("unsupported CLIP activation \"" + name +
                              "\" (valid: quick_gelu, gelu, gelu_new, gelu_pytorch_tanh)");
}

CLIPActivation CLIPTextConfig::activation() const {
  return parse_clip_activation(hidden_act);
}

int64_t CLIPTextConfig::num_parameters() const {
  const int64_t d = hidden_size;
  const int64_t ff = intermediate_size;
  const int64_t embeddings = vocab_size * d + max_position_embeddings * d;
  // q, k, v, out_proj (weight + bias), layer_norm1/2, fc1 and fc2 (weight + bias).
  const int64_t layer = 4 * (d * d + d) + 4 * d + (d * ff + ff) + (ff * d + d);
  return embeddings + num_hidden_layers * layer + 2 * d + projection_dim * d;
}

void CLIPTextConfig::validate(const std::string& source) const {
  detail::config_require_positive(vocab_size, "vocab_size", source);
  detail::config_require_positive(hidden_size, "hidden_size", source);
  detail::config_require_positive(intermediate_size, "intermediate_size", source);
  detail::config_require_positive(projection_dim, "projection_dim", source);
  detail::config_require_positive(num_hidden_layers, "num_hidden_layers", source);
  detail::config_require_positive(num_attention_heads, "num_attention_heads", source);
  detail::config_require_positive(max_position_embeddings, "max_position_embeddings", source);
  // modeling_clip.py::CLIPAttention.__init__ raises on the same condition.
  if (hidden_size % num_attention_heads != 0) {
    detail::config_key_error(source, "num_attention_heads",
                             "expected a divisor of hidden_size = " + std::to_string(hidden_size) +
                                 ", found " + std::to_string(num_attention_heads));
  }
  try {
    parse_clip_activation(hidden_act);
  } catch (const std::invalid_argument& e) {
    detail::config_key_error(source, "hidden_act", e.what());
  }
  if (!std::isfinite(layer_norm_eps) || layer_norm_eps <= 0.0)
    detail::config_key_error(
        source, "layer_norm_eps",
        "expected a finite number > 0, found " + detail::config_json_text(layer_norm_eps));
  clip_config_probability(attention_dropout, "attention_dropout", source);
  clip_config_probability(dropout, "dropout", source);
  clip_config_non_negative(initializer_range, "initializer_range", source);
  clip_config_non_negative(initializer_factor, "initializer_factor", source);
  clip_config_token_id(pad_token_id, "pad_token_id", source);
  clip_config_token_id(bos_token_id, "bos_token_id", source);
  if (eos_token_id < 0 || eos_token_id >= vocab_size) {
    detail::config_key_error(source, "eos_token_id",
                             "expected an id in [0, vocab_size = " + std::to_string(vocab_size) +
                                 "), found " + std::to_string(eos_token_id));
  }
}

CLIPTextConfig CLIPTextConfig::from_json(const json& j, const std::string& source) {
  if (!j.is_object())
    throw std::invalid_argument(source + ": expected a JSON object, found " + j.type_name());
  if (j.contains("text_config")) {
    throw std::invalid_argument(
        source + ": config key \"text_config\": this is a full CLIPModel config (text and vision towers); " +
        "expected the config of a " + kCLIPTextArchitecture +
        " (model_type \"clip_text_model\", as in SD3's text_encoder/ and text_encoder_2/ folders)");
  }
  CLIPTextConfig c;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    if (key == "model_type") {
      if (v != json(kCLIPTextModelType)) {
        detail::config_key_error(source, key,
                                 std::string("expected \"") + kCLIPTextModelType + "\", found " +
                                     detail::config_json_text(v) + " (wrong model component?)");
      }
    } else if (key == "architectures") {
      bool found = false;
      if (v.is_array()) {
        for (const auto& a : v) found = found || a == json(kCLIPTextArchitecture);
      }
      if (!found) {
        detail::config_key_error(source, key,
                                 std::string("expected a list containing \"") + kCLIPTextArchitecture +
                                     "\", found " + detail::config_json_text(v));
      }
    } else if (key == "pruned_heads") {
      // Pruned heads change the attention's shapes; transformers' CLIP cannot prune either.
      if (!v.is_null() && !v.empty())
        detail::config_key_error(
            source, key,
            "expected {} (pruned heads are not supported), found " + detail::config_json_text(v));
    } else if (detail::pretrained_config_generic_keys().count(key)) {
      continue;
    } else if (key == "vocab_size") {
      c.vocab_size = detail::config_int(v, key, source);
    } else if (key == "hidden_size") {
      c.hidden_size = detail::config_int(v, key, source);
    } else if (key == "intermediate_size") {
      c.intermediate_size = detail::config_int(v, key, source);
    } else if (key == "projection_dim") {
      c.projection_dim = detail::config_int(v, key, source);
    } else if (key == "num_hidden_layers") {
      c.num_hidden_layers = detail::config_int(v, key, source);
    } else if (key == "num_attention_heads") {
      c.num_attention_heads = detail::config_int(v, key, source);
    } else if (key == "max_position_embeddings") {
      c.max_position_embeddings = detail::config_int(v, key, source);
    } else if (key == "hidden_act") {
      c.hidden_act = detail::config_string(v, key, source);
    } else if (key == "layer_norm_eps") {
      c.layer_norm_eps = detail::config_number(v, key, source);
    } else if (key == "attention_dropout") {
      c.attention_dropout = detail::config_number(v, key, source);
    } else if (key == "dropout") {
      c.dropout = detail::config_number(v, key, source);
    } else if (key == "initializer_range") {
      c.initializer_range = detail::config_number(v, key, source);
    } else if (key == "initializer_factor") {
      c.initializer_factor = detail::config_number(v, key, source);
    } else if (key == "pad_token_id") {
      c.pad_token_id = detail::config_optional_int(v, key, source);
    } else if (key == "bos_token_id") {
      c.bos_token_id = detail::config_optional_int(v, key, source);
    } else if (key == "eos_token_id") {
      c.eos_token_id = detail::config_int(v, key, source);
    } else {
      throw std::invalid_argument(source + ": unknown config key \"" + key + "\" for " +
                                  kCLIPTextArchitecture + " (known keys: " + kCLIPTextConfigKnownKeys + ")");
    }
  }
  c.validate(source);
  return c;
}

CLIPTextConfig CLIPTextConfig::from_file(const std::filesystem::path& path) {
  return from_json(io::read_json_file(path), path.string());
}

json CLIPTextConfig::to_json() const {
  json j;
  j["architectures"] = json::array({kCLIPTextArchitecture});
  j["model_type"] = kCLIPTextModelType;
  j["vocab_size"] = vocab_size;
  j["hidden_size"] = hidden_size;
  j["intermediate_size"] = intermediate_size;
  j["projection_dim"] = projection_dim;
  j["num_hidden_layers"] = num_hidden_layers;
  j["num_attention_heads"] = num_attention_heads;
  j["max_position_embeddings"] = max_position_embeddings;
  j["hidden_act"] = hidden_act;
  j["layer_norm_eps"] = layer_norm_eps;
  j["attention_dropout"] = attention_dropout;
  j["dropout"] = dropout;
  j["initializer_range"] = initializer_range;
  j["initializer_factor"] = initializer_factor;
  j["pad_token_id"] = pad_token_id ? json(*pad_token_id) : json(nullptr);
  j["bos_token_id"] = bos_token_id ? json(*bos_token_id) : json(nullptr);
  j["eos_token_id"] = eos_token_id;
  return j;
}

void CLIPTextConfig::save(const std::filesystem::path& path, const std::string& torch_dtype) const {
  validate();
  auto j = to_json();
  if (!torch_dtype.empty()) j["torch_dtype"] = torch_dtype;
  io::write_text_atomic(path, j.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
}

CLIPTextConfig CLIPTextConfig::clip_l() {
  // stabilityai/stable-diffusion-3.5-medium text_encoder/config.json (models.md §4).
  CLIPTextConfig c;
  c.vocab_size = 49408;
  c.hidden_size = 768;
  c.intermediate_size = 3072;
  c.projection_dim = 768;
  c.num_hidden_layers = 12;
  c.num_attention_heads = 12;
  c.max_position_embeddings = 77;
  c.hidden_act = "quick_gelu";
  c.layer_norm_eps = 1e-5;
  c.bos_token_id = 0;
  c.pad_token_id = 1;
  c.eos_token_id = 2;
  return c;
}

CLIPTextConfig CLIPTextConfig::clip_g() {
  // stabilityai/stable-diffusion-3.5-medium text_encoder_2/config.json (models.md §4).
  CLIPTextConfig c = clip_l();
  c.hidden_size = 1280;
  c.intermediate_size = 5120;
  c.projection_dim = 1280;
  c.num_hidden_layers = 32;
  c.num_attention_heads = 20;
  c.hidden_act = "gelu";
  return c;
}

bool CLIPTextConfig::operator==(const CLIPTextConfig& o) const {
  return vocab_size == o.vocab_size && hidden_size == o.hidden_size &&
         intermediate_size == o.intermediate_size && projection_dim == o.projection_dim &&
         num_hidden_layers == o.num_hidden_layers && num_attention_heads == o.num_attention_heads &&
         max_position_embeddings == o.max_position_embeddings && hidden_act == o.hidden_act &&
         layer_norm_eps == o.layer_norm_eps && attention_dropout == o.attention_dropout &&
         dropout == o.dropout && initializer_range == o.initializer_range &&
         initializer_factor == o.initializer_factor && pad_token_id == o.pad_token_id &&
         bos_token_id == o.bos_token_id && eos_token_id == o.eos_token_id;
}

}  // namespace flowgrpo::models
