#include "flowgrpo/rewards/shapes_reward.h"

#include "flowgrpo/shapes/prompt_spec.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

namespace flowgrpo::rewards {

namespace {

const std::vector<std::string>& option_keys() {
  static const std::vector<std::string> keys = {"color_threshold",    "min_coverage",  "min_area_fraction",
                                                "max_aspect",         "min_shape_iou", "shape_size",
                                                "position_threshold", "max_objects"};
  return keys;
}

double number(const nlohmann::json& options, const std::string& key) {
  const auto& v = options.at(key);
  if (!v.is_number())
    throw std::invalid_argument("shapes reward: option '" + key + "' must be a number, found " + v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return v.get<double>();
}

int64_t integer(const nlohmann::json& options, const std::string& key) {
  const auto& v = options.at(key);
  if (!v.is_number_integer())
    throw std::invalid_argument("shapes reward: option '" + key + "' must be an integer, found " + v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return v.get<int64_t>();
}

}  // namespace

ShapesReward::ShapesReward(ShapesRewardOptions options) : options_(options), detector_(options.detector) {
  if (options_.scoring.max_objects < 1)
    throw std::invalid_argument("shapes reward: max_objects must be >= 1");
  if (!(options_.scoring.position_threshold >= 0) || !std::isfinite(options_.scoring.position_threshold))
    throw std::invalid_argument("shapes reward: position_threshold must be a finite number >= 0");
}

std::unique_ptr<ShapesReward> ShapesReward::from_options(const nlohmann::json& options) {
  if (!options.is_object())
    throw std::invalid_argument("shapes reward: options must be an object, found " + options.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  ShapesRewardOptions o;
  for (auto it = options.begin(); it != options.end(); ++it) {
    const auto& keys = option_keys();
    if (std::find(keys.begin(), keys.end(), it.key()) == keys.end()) {
      std::string valid;
      for (const auto& k : keys) valid += (valid.empty() ? "" : ", ") + k;
      throw std::invalid_argument("shapes reward: unknown option '" + it.key() + "' (valid: " + valid + ")");
    }
  }
  if (options.contains("color_threshold")) o.detector.color_threshold = number(options, "color_threshold");
  if (options.contains("min_coverage")) o.detector.min_coverage = number(options, "min_coverage");
  if (options.contains("min_area_fraction"))
    o.detector.min_area_fraction = number(options, "min_area_fraction");
  if (options.contains("max_aspect")) o.detector.max_aspect = number(options, "max_aspect");
  if (options.contains("min_shape_iou")) o.detector.min_shape_iou = number(options, "min_shape_iou");
  if (options.contains("shape_size")) o.detector.shape_size = integer(options, "shape_size");
  if (options.contains("position_threshold"))
    o.scoring.position_threshold = number(options, "position_threshold");
  if (options.contains("max_objects")) o.scoring.max_objects = integer(options, "max_objects");
  return std::make_unique<ShapesReward>(o);
}

ScoreRange ShapesReward::valid_range() const {
  return {-static_cast<double>(options_.scoring.max_objects - 1), 1.0};
}

RewardResult ShapesReward::score(const RewardBatch& batch) {
  batch.validate();
  torch::NoGradGuard no_grad;
  const int64_t n = batch.size();
  const auto images = batch.as_uint8().contiguous();
  const auto nan = [&] { return torch::full({n}, NAN, torch::kDouble); };

  RewardResult result = RewardResult::from_scores(torch::zeros({n}, torch::kDouble));
  auto strict = nan(), accuracy = nan(), num_objects = nan();
  std::map<std::string, std::vector<double>> by_tag;
  for (shapes::Tag t : shapes::all_tags()) {
    by_tag[to_string(t) + "_strict_accuracy"].assign(static_cast<size_t>(n), NAN);
    by_tag[to_string(t) + "_accuracy"].assign(static_cast<size_t>(n), NAN);
  }
  auto* score_data = result.scores.data_ptr<double>();
  auto* strict_data = strict.data_ptr<double>();
  auto* accuracy_data = accuracy.data_ptr<double>();
  auto* objects_data = num_objects.data_ptr<double>();

  for (int64_t i = 0; i < n; ++i) {
    shapes::PromptSpec spec;
    try {
      spec = shapes::PromptSpec::from_metadata(batch.metadata[static_cast<size_t>(i)],
                                               /*require_template=*/false);
    } catch (const std::invalid_argument& e) {
      result.invalidate(i, std::string("metadata is not a ShapesEval prompt: ") + e.what());
      continue;
    }
    const auto detections = detector_.detect(images[i]);
    const auto verdict = shapes::score_geneval(spec, detections, options_.scoring);
    score_data[i] = verdict.score;
    strict_data[i] = verdict.strict ? 1.0 : 0.0;
    accuracy_data[i] = verdict.correct ? 1.0 : 0.0;
    objects_data[i] = static_cast<double>(detections.size());
    const std::string tag = to_string(spec.tag);
    by_tag[tag + "_strict_accuracy"][static_cast<size_t>(i)] = strict_data[i];
    by_tag[tag + "_accuracy"][static_cast<size_t>(i)] = accuracy_data[i];
  }
  result.components["strict_accuracy"] = strict;
  result.components["accuracy"] = accuracy;
  result.components["num_objects"] = num_objects;
  for (auto& [name, values] : by_tag) result.components[name] = torch::tensor(values, torch::kDouble);
  return result;
}

}  // namespace flowgrpo::rewards
