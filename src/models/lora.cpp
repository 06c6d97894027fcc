#include "flowgrpo/models/lora.h"
#include "flowgrpo/common/shape_string.h"
#include "flowgrpo/io/text_file.h"

#include "flowgrpo/io/safetensors.h"
#include "flowgrpo/log/logging.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>

namespace flowgrpo::models {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kPeftPrefix = "base_model.model.";
constexpr const char* kConfigFile = "adapter_config.json";
constexpr const char* kWeightsFile = "adapter_model.safetensors";

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// At most `limit` items, then "... and N more".
std::string list(const std::vector<std::string>& items, size_t limit = 20) {
  std::string out = "[";
  for (size_t i = 0; i < items.size() && i < limit; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > limit) out += ", ... and " + std::to_string(items.size() - limit) + " more";
  return out + "]";
}

bool is_default_like(const json& v) {
  return v.is_null() || (v.is_boolean() && !v.get<bool>()) || (v.is_object() && v.empty()) ||
         (v.is_array() && v.empty());
}

}  // namespace

// ----------------------------------------------------------------------------- config

LoRAConfig LoRAConfig::flow_grpo_sd3() {
  LoRAConfig c;
  c.r = 32;
  c.lora_alpha = 64.0;
  c.init = LoRAInit::kGaussian;
  c.target_modules = {"attn.add_k_proj", "attn.add_q_proj", "attn.add_v_proj", "attn.to_add_out",
                      "attn.to_k",       "attn.to_out.0",   "attn.to_q",       "attn.to_v"};
  return c;
}

void LoRAConfig::validate() const {
  if (r < 1) throw std::invalid_argument("LoRA config: r must be >= 1, got " + std::to_string(r));
  if (!std::isfinite(lora_alpha))
    throw std::invalid_argument("LoRA config: lora_alpha must be finite, got " + std::to_string(lora_alpha));
  if (lora_dropout != 0.0) {
    throw std::invalid_argument(
        "LoRA config: lora_dropout must be 0 (flowgrpo recomputes log-probabilities, which "
        "needs a deterministic model), got " +
        std::to_string(lora_dropout));
  }
  if (target_modules.empty() == !target_regex.has_value()) {
    throw std::invalid_argument(
        "LoRA config: give exactly one of target_modules (a list of names) and target_regex (one pattern)");
  }
  if (target_regex) {
    try {
      std::regex re(*target_regex);
    } catch (const std::regex_error& e) {
      throw std::invalid_argument("LoRA config: target_modules regex \"" + *target_regex +
                                  "\" is invalid: " + e.what());
    }
  }
}

json LoRAConfig::to_peft_json() const {
  // Every field of peft 0.10's LoraConfig (+ PeftConfig), as save_pretrained
  // writes them (inference_mode is set to true on save).
  json j;
  j["alpha_pattern"] = json::object();
  j["auto_mapping"] = nullptr;
  j["base_model_name_or_path"] =
      base_model_name_or_path.empty() ? json(nullptr) : json(base_model_name_or_path);
  j["bias"] = "none";
  j["fan_in_fan_out"] = false;
  j["inference_mode"] = true;
  switch (init) {
    case LoRAInit::kGaussian: j["init_lora_weights"] = "gaussian"; break;
    case LoRAInit::kKaiming: j["init_lora_weights"] = true; break;
    case LoRAInit::kNone: j["init_lora_weights"] = false; break;
  }
  j["layer_replication"] = nullptr;
  j["layers_pattern"] = nullptr;
  j["layers_to_transform"] = nullptr;
  j["loftq_config"] = json::object();
  if (std::floor(lora_alpha) == lora_alpha && std::fabs(lora_alpha) < 9.0e15) {
    j["lora_alpha"] = static_cast<int64_t>(lora_alpha);
  } else {
    j["lora_alpha"] = lora_alpha;
  }
  j["lora_dropout"] = lora_dropout;
  j["megatron_config"] = nullptr;
  j["megatron_core"] = "megatron.core";
  j["modules_to_save"] = nullptr;
  j["peft_type"] = "LORA";
  j["r"] = r;
  j["rank_pattern"] = json::object();
  j["revision"] = nullptr;
  j["target_modules"] = target_regex ? json(*target_regex) : json(target_modules);
  j["task_type"] = nullptr;
  j["use_dora"] = false;
  j["use_rslora"] = use_rslora;
  return j;
}

LoRAConfig LoRAConfig::from_peft_json(const json& j, const std::string& source, bool allow_dropout) {
  if (!j.is_object()) throw std::invalid_argument(source + ": expected a JSON object");
  auto bad = [&](const std::string& key, const std::string& what) {
    throw std::invalid_argument(source + ": \"" + key + "\": " + what);
  };
  LoRAConfig c;
  c.target_modules.clear();
  // Fields that carry no behaviour flowgrpo needs to reproduce.
  static const std::set<std::string> informational{"auto_mapping",      "inference_mode", "revision",
                                                   "megatron_core",     "layers_pattern", "task_type",
                                                   "qalora_group_size", "runtime_config"};
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    if (key == "peft_type") {
      if (v != "LORA") bad(key, "only LORA adapters are supported, found " + v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    } else if (key == "r") {
      if (!v.is_number_integer()) bad(key, "expected an integer, found " + v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      c.r = v.get<int64_t>();
    } else if (key == "lora_alpha") {
      if (!v.is_number()) bad(key, "expected a number, found " + v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      c.lora_alpha = v.get<double>();
    } else if (key == "target_modules") {
      if (v.is_string()) {
        c.target_regex = v.get<std::string>();
      } else if (v.is_array()) {
        for (const auto& t : v) {
          if (!t.is_string()) bad(key, "expected module names, found " + t.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
          c.target_modules.push_back(t.get<std::string>());
        }
      } else {
        bad(key, "expected a list of module names or one regex, found " + v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      }
    } else if (key == "init_lora_weights") {
      if (v == "gaussian") {
        c.init = LoRAInit::kGaussian;
      } else if (v.is_boolean()) {
        c.init = v.get<bool>() ? LoRAInit::kKaiming : LoRAInit::kNone;
      } else {
        // Other PEFT inits (pissa, olora, loftq, ...) only matter before training;
        // the saved weights are what they are.
        log::get("models")->warn("{}: init_lora_weights {} is not implemented; recorded as gaussian", source,
                                 v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      }
    } else if (key == "base_model_name_or_path") {
      c.base_model_name_or_path = v.is_string() ? v.get<std::string>() : "";
    } else if (key == "bias") {
      if (v != "none") bad(key, "only \"none\" is supported, found " + v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    } else if (key == "use_rslora") {
      if (!v.is_boolean()) bad(key, "expected a boolean, found " + v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      c.use_rslora = v.get<bool>();
    } else if (key == "lora_dropout") {
      if (!v.is_number()) bad(key, "expected a number, found " + v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      const double p = v.get<double>();
      if (p != 0.0 && !allow_dropout) bad(key, "must be 0, found " + v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      if (p != 0.0)
        log::get("models")->info("{}: lora_dropout {} ignored (flowgrpo never applies dropout)", source, p);
    } else if (informational.count(key)) {
      continue;
    } else if (!is_default_like(v)) {
      // rank_pattern, alpha_pattern, modules_to_save, layers_to_transform,
      // use_dora, fan_in_fan_out, layer_replication, loftq_config, ... set to a
      // non-default value change the adapter in ways flowgrpo does not implement.
      bad(key, "PEFT option not supported by flowgrpo with value " + v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
  }
  try {
    c.validate();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(source + ": " + e.what());
  }
  return c;
}

bool matches_target(const std::string& name, const LoRAConfig& config) {
  // peft 0.10 tuners_utils.py::check_target_module_exists.
  if (config.target_regex) return std::regex_match(name, std::regex(*config.target_regex));
  for (const auto& t : config.target_modules) {
    if (name == t || ends_with(name, "." + t)) return true;
  }
  return false;
}

// -------------------------------------------------------------------------- injection

std::vector<std::string> inject_lora(torch::nn::Module& root, const LoRAConfig& config) {
  config.validate();
  std::optional<std::regex> re;
  if (config.target_regex) re.emplace(*config.target_regex);
  auto modules = root.named_modules("", /*include_self=*/false);
  std::vector<std::string> matched;
  std::vector<std::string> unsupported;
  for (const auto& item : modules) {
    const std::string& name = item.key();
    if (!matches_target(name, config)) continue;
    if (dynamic_cast<LoRALinearImpl*>(item.value().get()) != nullptr) {
      throw std::invalid_argument("inject_lora: " + name + " already carries a LoRA adapter");
    }
    if (dynamic_cast<torch::nn::LinearImpl*>(item.value().get()) == nullptr) {
      unsupported.push_back(name + " (" + item.value()->name() + ")");
      continue;
    }
    matched.push_back(name);
  }
  if (!unsupported.empty()) {
    throw std::invalid_argument("inject_lora: target modules match modules that are not Linear layers: " +
                                list(unsupported));
  }
  if (matched.empty()) {
    std::string targets = config.target_regex ? "regex " + *config.target_regex : list(config.target_modules);
    throw std::invalid_argument("inject_lora: target modules " + targets + " not found in the model");
  }

  LoRALinearOptions lo;
  lo.r = config.r;
  lo.lora_alpha = config.lora_alpha;
  lo.use_rslora = config.use_rslora;
  lo.init = config.init;
  if (config.dtype) lo.dtype = *config.dtype;
  for (const auto& name : matched) {
    const auto dot = name.rfind('.');
    const std::string parent_name = dot == std::string::npos ? "" : name.substr(0, dot);
    const std::string child_name = dot == std::string::npos ? name : name.substr(dot + 1);
    torch::nn::Module* parent = &root;
    if (!parent_name.empty()) parent = modules[parent_name].get();
    auto base = std::dynamic_pointer_cast<torch::nn::LinearImpl>(modules[name]);
    parent->replace_module(child_name, LoRALinear(torch::nn::Linear(base), lo));
  }

  // Only adapter tensors train (PEFT mark_only_lora_as_trainable with bias "none").
  for (auto& p : root.named_parameters(/*recurse=*/true)) {
    const bool is_lora =
        p.key().find(".lora_A.") != std::string::npos || p.key().find(".lora_B.") != std::string::npos;
    p.value().set_requires_grad(is_lora);
  }
  log::get("models")->info("LoRA: injected r={} alpha={} into {} linear layers", config.r, config.lora_alpha,
                           matched.size());
  return matched;
}

std::vector<std::pair<std::string, std::shared_ptr<LoRALinearImpl>>> lora_layers(
    const torch::nn::Module& root) {
  std::vector<std::pair<std::string, std::shared_ptr<LoRALinearImpl>>> out;
  for (const auto& item : root.named_modules("", /*include_self=*/false)) {
    if (auto l = std::dynamic_pointer_cast<LoRALinearImpl>(item.value())) out.emplace_back(item.key(), l);
  }
  return out;
}

std::vector<torch::Tensor> lora_parameters(const torch::nn::Module& root) {
  std::vector<torch::Tensor> out;
  for (const auto& [name, layer] : lora_layers(root)) {
    out.push_back(layer->lora_A->weight);
    out.push_back(layer->lora_B->weight);
  }
  return out;
}

std::map<std::string, torch::Tensor> lora_state_dict(const torch::nn::Module& root) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, layer] : lora_layers(root)) {
    out[name + ".lora_A.weight"] = layer->lora_A->weight;
    out[name + ".lora_B.weight"] = layer->lora_B->weight;
  }
  return out;
}

void set_lora_enabled(torch::nn::Module& root, bool enabled) {
  for (auto& [name, layer] : lora_layers(root)) layer->set_enabled(enabled);
}

void merge_lora(torch::nn::Module& root) {
  for (auto& [name, layer] : lora_layers(root)) layer->merge();
}

void unmerge_lora(torch::nn::Module& root) {
  for (auto& [name, layer] : lora_layers(root)) layer->unmerge();
}

AdapterDisabledScope::AdapterDisabledScope(torch::nn::Module& root) {
  for (auto& [name, layer] : lora_layers(root)) {
    if (!layer->enabled()) continue;
    layer->set_enabled(false);
    reenable_.push_back(layer);
  }
}

AdapterDisabledScope::~AdapterDisabledScope() {
  for (auto& layer : reenable_) layer->set_enabled(true);
}

// ------------------------------------------------------------------------ save / load

void save_lora_peft(const torch::nn::Module& root, const LoRAConfig& config, const fs::path& dir) {
  config.validate();
  const auto layers = lora_layers(root);
  if (layers.empty()) throw std::invalid_argument("save_lora_peft: the model has no LoRA adapters");
  io::TensorMap tensors;
  for (const auto& [name, layer] : layers) {
    const auto& o = layer->options();
    if (o.r != config.r || o.lora_alpha != config.lora_alpha || o.use_rslora != config.use_rslora) {
      throw std::invalid_argument("save_lora_peft: adapter " + name + " (r " + std::to_string(o.r) +
                                  ", alpha " + std::to_string(o.lora_alpha) +
                                  ") disagrees with the config (r " + std::to_string(config.r) + ", alpha " +
                                  std::to_string(config.lora_alpha) + ")");
    }
    if (!matches_target(name, config)) {
      throw std::invalid_argument(
          "save_lora_peft: adapter " + name +
          " is not matched by the config's target_modules; PEFT would not re-create it");
    }
    tensors[kPeftPrefix + name + ".lora_A.weight"] = layer->lora_A->weight.detach();
    tensors[kPeftPrefix + name + ".lora_B.weight"] = layer->lora_B->weight.detach();
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("save_lora_peft: cannot create " + dir.string() + ": " + ec.message());
  io::save_safetensors(dir / kWeightsFile, tensors, {{"format", "pt"}});
  io::write_text_atomic(dir / kConfigFile, config.to_peft_json().dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

LoRAConfig read_lora_config(const fs::path& dir) {
  const fs::path path = dir / kConfigFile;
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("cannot open LoRA adapter config " + path.string());
  json j;
  try {
    in >> j;
  } catch (const json::exception& e) {
    throw std::invalid_argument(path.string() + ": not valid JSON: " + e.what());
  }
  return LoRAConfig::from_peft_json(j, path.string());
}

void load_lora_weights(torch::nn::Module& root, const fs::path& dir_or_file) {
  const fs::path file = fs::is_directory(dir_or_file) ? dir_or_file / kWeightsFile : dir_or_file;
  const auto layers = lora_layers(root);
  if (layers.empty()) {
    throw std::invalid_argument(
        "loading LoRA weights from " + file.string() +
        ": the model has no LoRA adapters (inject_lora first, or use load_lora_adapter)");
  }
  const auto st = io::SafetensorsFile::open(file);

  // File key -> (module tensor name, whether diffusers layout).
  struct Entry {
    std::string file_key;
    bool diffusers;
  };
  std::map<std::string, Entry> found;
  std::vector<std::string> unexpected, duplicate;
  for (const auto& key : st.names()) {
    std::string k;
    bool diffusers = false;
    if (starts_with(key, kPeftPrefix)) {
      k = key.substr(std::string(kPeftPrefix).size());
    } else if (starts_with(key, "transformer.")) {
      k = key.substr(std::string("transformer.").size());
      diffusers = true;
    } else {
      unexpected.push_back(key);
      continue;
    }
    // Some PEFT versions keep the adapter name: "<m>.lora_A.default.weight".
    const std::string named = ".default.weight";
    if (ends_with(k, named)) k = k.substr(0, k.size() - named.size()) + ".weight";
    if (!ends_with(k, ".lora_A.weight") && !ends_with(k, ".lora_B.weight")) {
      unexpected.push_back(key);
      continue;
    }
    if (!found.emplace(k, Entry{key, diffusers}).second) duplicate.push_back(key);
  }

  std::vector<std::string> missing, mismatched;
  std::vector<std::tuple<torch::Tensor, std::string, double>> plan;  // target, file key, divisor
  std::set<std::string> used;
  for (const auto& [name, layer] : layers) {
    for (const char* which : {"lora_A", "lora_B"}) {
      const std::string k = name + "." + which + ".weight";
      const auto it = found.find(k);
      if (it == found.end()) {
        missing.push_back(k);
        continue;
      }
      used.insert(k);
      const auto& target = std::string(which) == "lora_A" ? layer->lora_A->weight : layer->lora_B->weight;
      const auto& info = st.info(it->second.file_key);
      if (c10::IntArrayRef(info.shape) != target.sizes()) {
        const int64_t file_r =
            info.shape.size() == 2 ? info.shape[std::string(which) == "lora_A" ? 0 : 1] : -1;
        std::string what =
            k + " (file " + shape_string(info.shape) + ", model " + shape_string(target.sizes());
        if (file_r != layer->r())
          what += "; rank " + std::to_string(file_r) + " vs " + std::to_string(layer->r());
        mismatched.push_back(what + ")");
        continue;
      }
      const double divisor = it->second.diffusers && std::string(which) == "lora_B" ? layer->scaling() : 1.0;
      plan.emplace_back(target, it->second.file_key, divisor);
    }
  }
  for (const auto& [k, e] : found)
    if (!used.count(k)) unexpected.push_back(e.file_key);

  std::vector<std::string> problems;
  if (!missing.empty()) problems.push_back("adapters missing in file: " + list(missing));
  if (!unexpected.empty()) problems.push_back("unexpected in file: " + list(unexpected));
  if (!duplicate.empty()) problems.push_back("given twice (with and without .default): " + list(duplicate));
  if (!mismatched.empty()) problems.push_back("shape/rank mismatch: " + list(mismatched));
  if (!problems.empty()) {
    std::string msg = "loading LoRA weights from " + file.string() + ": ";
    for (size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : "") + problems[i];
    throw std::invalid_argument(msg);
  }
  torch::NoGradGuard no_grad;
  for (auto& [target, key, divisor] : plan) {
    auto v = st.view(key).to(torch::kFloat);  // converted through fp32, as from any file dtype
    if (divisor != 1.0) v = v / divisor;
    target.copy_(v);
  }
}

std::vector<std::string> load_lora_adapter(torch::nn::Module& root, const fs::path& dir) {
  const auto config = read_lora_config(dir);
  auto names = inject_lora(root, config);
  load_lora_weights(root, dir);
  return names;
}

void save_lora_diffusers(const torch::nn::Module& root, const fs::path& file, const std::string& prefix) {
  const auto layers = lora_layers(root);
  if (layers.empty()) throw std::invalid_argument("save_lora_diffusers: the model has no LoRA adapters");
  io::TensorMap tensors;
  for (const auto& [name, layer] : layers) {
    tensors[prefix + "." + name + ".lora_A.weight"] = layer->lora_A->weight.detach();
    tensors[prefix + "." + name + ".lora_B.weight"] =
        (layer->lora_B->weight.detach().to(torch::kFloat) * layer->scaling())
            .to(layer->lora_B->weight.scalar_type());
  }
  io::save_safetensors(file, tensors, {{"format", "pt"}});
}

}  // namespace flowgrpo::models
