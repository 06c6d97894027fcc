#include "flowgrpo/rewards/torchscript_reward.h"

#include "flowgrpo/common/device.h"

#include "flowgrpo/log/logging.h"
#include "flowgrpo/text/clip_tokenizer.h"

#include <torch/script.h>

#include <cmath>
#include <fstream>
#include <set>
#include <stdexcept>

namespace flowgrpo::rewards {

namespace fs = std::filesystem;

namespace {
// |logit_scale · cos| <= 100 (CLIP's logit_scale clamp), with a factor 2 for fine-tunes
// (torchscript_reward.h).
constexpr double kMaxClipLogit = 200.0;
}  // namespace

TorchScriptReward::Spec TorchScriptReward::pickscore() {
  return {"pickscore", true, 1.0 / 26.0, "PickScore_v1: logit_scale·cos(image, prompt) / 26 (TorchScript)",
          ScoreRange{-kMaxClipLogit / 26.0, kMaxClipLogit / 26.0}};
}
TorchScriptReward::Spec TorchScriptReward::clip_score() {
  return {"clip_score", true, 1.0 / 30.0, "CLIP ViT-L/14 logit(image, prompt) / 30 (TorchScript)",
          ScoreRange{-kMaxClipLogit / 30.0, kMaxClipLogit / 30.0}};
}
TorchScriptReward::Spec TorchScriptReward::aesthetic() {
  return {"aesthetic", false, 1.0, "LAION aesthetic MLP on the CLIP ViT-L/14 image embedding (TorchScript)",
          ScoreRange{}};
}

struct TorchScriptReward::Impl {
  torch::jit::script::Module module;
  torch::Device device{torch::kCPU};
  std::unique_ptr<text::ClipTokenizer> tokenizer;
};

namespace {

[[noreturn]] void bad(const std::string& reward, const std::string& what) {
  throw std::invalid_argument("reward '" + reward + "': " + what);
}

nlohmann::json read_json(const fs::path& path, const std::string& reward) {
  std::ifstream in(path);
  if (!in)
    bad(reward, "cannot open " + path.string() + " (export the model with scripts/export_reward_models.py)");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    bad(reward, path.string() + " is not valid JSON: " + e.what());
  }
}

template <class T>
T get(const nlohmann::json& j, const char* key, const fs::path& file, const std::string& reward) {
  if (!j.contains(key)) bad(reward, file.string() + ": missing key '" + key + "'");
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    bad(reward, file.string() + ": key '" + key + "' has the wrong type: " +
                    j.at(key).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
}

}  // namespace

TorchScriptReward::Options TorchScriptReward::parse_options(const nlohmann::json& options,
                                                            const std::string& reward_name) {
  if (!options.is_object())
    bad(reward_name, "options must be a mapping, found " +
                         options.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  static const std::set<std::string> kKnown{"path", "device", "batch_size"};
  Options o;
  for (const auto& [key, value] : options.items()) {
    if (!kKnown.count(key))
      bad(reward_name, "unknown option '" + key + "'; valid options: path, device, batch_size");
    if (key == "path") {
      if (!value.is_string() || value.get<std::string>().empty())
        bad(reward_name,
            "option 'path' must be the folder written by scripts/export_reward_models.py, found " +
                value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      o.path = value.get<std::string>();
    } else if (key == "device") {
      if (!value.is_string())
        bad(reward_name, "option 'device' must be a string such as \"cpu\" or \"cuda:0\"");
      o.device = value.get<std::string>();
    } else if (key == "batch_size") {
      if (!value.is_number_integer() || value.get<int64_t>() < 1)
        bad(reward_name, "option 'batch_size' must be an integer >= 1, found " +
                             value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      o.batch_size = value.get<int64_t>();
    }
  }
  if (o.path.empty())
    bad(reward_name, "option 'path' is required: reward_options: {" + reward_name +
                         ": {path: <folder from scripts/export_reward_models.py>}}");
  return o;
}

TorchScriptReward::TorchScriptReward(Spec spec, Options options)
    : spec_(std::move(spec)), options_(std::move(options)), impl_(std::make_unique<Impl>()) {
  const std::string& n = spec_.name;
  if (!fs::is_directory(options_.path)) bad(n, "model folder " + options_.path.string() + " does not exist");
  const auto meta_file = options_.path / "reward_model.json";
  const auto meta = read_json(meta_file, n);
  const auto declared = get<std::string>(meta, "reward", meta_file, n);
  if (declared != n) bad(n, meta_file.string() + " describes the reward '" + declared + "', not '" + n + "'");
  const auto inputs = get<std::vector<std::string>>(meta, "inputs", meta_file, n);
  const std::vector<std::string> expected =
      spec_.uses_text ? std::vector<std::string>{"pixel_values", "input_ids", "attention_mask"}
                      : std::vector<std::string>{"pixel_values"};
  if (inputs != expected)
    bad(n, meta_file.string() + ": inputs " +
               nlohmann::json(inputs).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
               ", expected " +
               nlohmann::json(expected).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  const auto proc = get<nlohmann::json>(meta, "image_processor", meta_file, n);
  image_options_.shortest_edge = get<int64_t>(proc, "shortest_edge", meta_file, n);
  image_options_.crop_height = get<int64_t>(proc, "crop_height", meta_file, n);
  image_options_.crop_width = get<int64_t>(proc, "crop_width", meta_file, n);
  const auto mean = get<std::vector<float>>(proc, "mean", meta_file, n);
  const auto std = get<std::vector<float>>(proc, "std", meta_file, n);
  if (mean.size() != 3 || std.size() != 3) bad(n, meta_file.string() + ": mean and std need 3 values each");
  for (int c = 0; c < 3; ++c) {
    if (!(std[c] > 0)) bad(n, meta_file.string() + ": std values must be positive");
    image_options_.mean[c] = mean[c];
    image_options_.std[c] = std[c];
  }
  if (image_options_.shortest_edge < 1 || image_options_.crop_height < 1 || image_options_.crop_width < 1)
    bad(n, meta_file.string() + ": image sizes must be positive");
  const auto dtype = meta.value("dtype", std::string("float32"));
  if (dtype == "float32")
    pixel_dtype_ = torch::kFloat;
  else if (dtype == "float16")
    pixel_dtype_ = torch::kHalf;
  else if (dtype == "bfloat16")
    pixel_dtype_ = torch::kBFloat16;
  else
    bad(n, meta_file.string() + ": dtype must be float32, float16 or bfloat16, found '" + dtype + "'");
  if (spec_.uses_text) {
    max_length_ = meta.value("max_length", int64_t{77});
    if (max_length_ < 2) bad(n, meta_file.string() + ": max_length must be >= 2");
    const auto tokenizer_dir = options_.path / "tokenizer";
    try {
      impl_->tokenizer =
          std::make_unique<text::ClipTokenizer>(text::ClipTokenizer::from_directory(tokenizer_dir));
    } catch (const std::exception& e) {
      bad(n, std::string("tokenizer: ") + e.what());
    }
  }
  try {
    impl_->device = parse_device(options_.device);  // "cuda": this rank's GPU
  } catch (const std::exception&) {
    bad(n, "option 'device': not a device: '" + options_.device + "'");
  }
  const auto model_file = options_.path / "model.pt";
  if (!fs::is_regular_file(model_file)) bad(n, "missing " + model_file.string());
  try {
    impl_->module = torch::jit::load(model_file.string(), impl_->device);
  } catch (const std::exception& e) {
    bad(n, "cannot load TorchScript module " + model_file.string() + ": " + e.what());
  }
  impl_->module.eval();
  log::get("reward")->info("{}: loaded {} ({} inputs, {}x{} images) on {}", n, model_file.string(),
                           inputs.size(), image_options_.crop_height, image_options_.crop_width,
                           impl_->device.str());
}

TorchScriptReward::~TorchScriptReward() = default;

RewardResult TorchScriptReward::score(const RewardBatch& batch) {
  batch.validate();
  torch::NoGradGuard no_grad;
  const int64_t n = batch.size();
  auto raw = torch::empty({n}, torch::kDouble);
  const auto images = batch.as_uint8();
  for (int64_t start = 0; start < n; start += options_.batch_size) {
    const int64_t end = std::min(n, start + options_.batch_size);
    const auto pixels =
        clip_preprocess(images.slice(0, start, end), image_options_).to(impl_->device, pixel_dtype_);
    std::vector<torch::jit::IValue> inputs;
    inputs.reserve(3);
    inputs.emplace_back(pixels);
    if (spec_.uses_text) {
      const std::vector<std::string> prompts(batch.prompts.begin() + start, batch.prompts.begin() + end);
      const auto tokens = impl_->tokenizer->encode_batch(prompts, max_length_);
      inputs.emplace_back(tokens.input_ids.to(impl_->device));
      inputs.emplace_back(tokens.attention_mask.to(impl_->device));
    }
    torch::Tensor out;
    try {
      out = impl_->module.forward(inputs).toTensor();
    } catch (const std::exception& e) {
      throw std::runtime_error("reward '" + spec_.name + "': the TorchScript module failed: " + e.what());
    }
    out = out.to(torch::kCPU, torch::kDouble).reshape({-1});
    if (out.size(0) != end - start)
      throw std::runtime_error("reward '" + spec_.name + "': the module returned " +
                               std::to_string(out.size(0)) + " scores for " + std::to_string(end - start) +
                               " images");
    raw.slice(0, start, end).copy_(out);
  }
  auto result = RewardResult::from_scores(raw * spec_.scale);
  result.components["raw"] = raw.clone();
  const auto* r = raw.data_ptr<double>();
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(r[i])) result.invalidate(i, "the scorer returned a non-finite value");
  return result;
}

}  // namespace flowgrpo::rewards
