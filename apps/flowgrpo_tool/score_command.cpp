// flowgrpo-tool score: scores a folder of images with any configured reward, to
// check a reward server or an exported reward model before a run depends on it.
#include "commands.h"

#include "flowgrpo/config/cli_options.h"
#include "flowgrpo/data/prompt_dataset.h"
#include "flowgrpo/io/image_png.h"
#include "flowgrpo/rewards/reward_registry.h"
#include "flowgrpo/rewards/weighted_reward.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>

namespace flowgrpo::tool {

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> png_files(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw std::invalid_argument("--images " + dir.string() + ": not a directory");
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().extension() == ".png") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) throw std::invalid_argument("--images " + dir.string() + ": no .png files");
  return files;
}

nlohmann::json number_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

}  // namespace

Command add_score_command(CLI::App& app) {
  struct Options {
    config::CliOptions cli;
    std::string reward;
    std::string options_json;
    std::string images;
    std::string prompts;
    int64_t batch_size = 16;
    bool eval_mode = false;
  };
  auto o = std::make_shared<Options>();
  config::add_cli_options(app, o->cli);
  app.add_option(
      "--reward", o->reward,
      "one registered reward (default: the config's weighted `reward` section with its reward_options)");
  app.add_option("--options", o->options_json,
                 "the reward's options as JSON, e.g. '{\"path\": \"models/pickscore\"}'");
  app.add_option("--images", o->images, "folder of .png images, scored in file-name order")->required();
  app.add_option("--prompts", o->prompts,
                 "prompt file, line i for image i: GenEval metadata .jsonl or plain text .txt")
      ->required();
  app.add_option("--batch-size", o->batch_size, "images per score() call")->check(CLI::PositiveNumber);
  app.add_flag("--eval", o->eval_mode, "score in evaluation mode (strict metrics, as flowgrpo-eval)");
  return [o]() {
    std::unique_ptr<rewards::Reward> reward;
    if (!o->reward.empty()) {
      nlohmann::json options = nlohmann::json::object();
      if (!o->options_json.empty()) {
        try {
          options = nlohmann::json::parse(o->options_json);
        } catch (const nlohmann::json::exception& e) {
          throw std::invalid_argument("--options: not valid JSON: " + std::string(e.what()));
        }
      }
      reward = rewards::RewardRegistry::global().create(o->reward, options);
    } else {
      if (!o->options_json.empty()) throw std::invalid_argument("--options needs --reward");
      const auto cfg = config::load_config(o->cli);
      if (cfg.reward.empty())
        throw std::invalid_argument("no reward: give --reward NAME or a --config with a `reward` section");
      std::vector<std::pair<std::string, double>> weights;
      for (const auto& w : cfg.reward) weights.emplace_back(w.name, w.weight);
      reward = rewards::WeightedReward::from_weights(weights, rewards::RewardRegistry::global(),
                                                     cfg.reward_options);
    }
    const auto files = png_files(o->images);
    const auto prompts = data::PromptDataset::load(o->prompts);
    if (prompts.size() != files.size())
      throw std::invalid_argument("--prompts " + o->prompts + " has " + std::to_string(prompts.size()) +
                                  " prompts but --images " + o->images + " holds " +
                                  std::to_string(files.size()) +
                                  " .png files; line i must describe image i in file-name order");
    double sum = 0;
    int64_t valid = 0;
    for (size_t start = 0; start < files.size(); start += static_cast<size_t>(o->batch_size)) {
      const size_t end = std::min(files.size(), start + static_cast<size_t>(o->batch_size));
      rewards::RewardBatch batch;
      std::vector<torch::Tensor> images;
      for (size_t i = start; i < end; ++i) {
        auto image = io::read_png(files[i]);
        if (!images.empty() && image.sizes() != images.front().sizes())
          throw std::invalid_argument(files[i].string() + ": size " + std::to_string(image.size(1)) + "x" +
                                      std::to_string(image.size(2)) +
                                      " differs from the batch's first image");
        images.push_back(image);
        batch.prompts.push_back(prompts.prompt(i));
        batch.metadata.push_back(prompts.metadata(i));
      }
      batch.images = torch::stack(images);
      batch.mode = o->eval_mode ? rewards::ScoreMode::kEval : rewards::ScoreMode::kTrain;
      const auto result = reward->score(batch);
      result.check(reward->name(), batch.size());
      for (int64_t j = 0; j < batch.size(); ++j) {
        const auto i = start + static_cast<size_t>(j);
        const bool ok = result.valid[j].item<bool>();
        nlohmann::json row{{"file", files[i].filename().string()},
                           {"prompt", prompts.prompt(i)},
                           {"valid", ok},
                           {"score", number_or_null(result.scores[j].item<double>())}};
        if (!ok) row["error"] = result.errors[static_cast<size_t>(j)];
        for (const auto& [name, values] : result.components)
          row["components"][name] = number_or_null(values[j].item<double>());
        std::cout << row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        if (ok) {
          sum += result.scores[j].item<double>();
          ++valid;
        }
      }
    }
    nlohmann::json summary{
        {"summary", true},
        {"reward", reward->name()},
        {"num_images", files.size()},
        {"num_valid", valid},
        {"mean_score", valid > 0 ? nlohmann::json(sum / static_cast<double>(valid)) : nullptr}};
    std::cout << summary.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
    return valid == static_cast<int64_t>(files.size()) ? 0 : 3;
  };
}

}  // namespace flowgrpo::tool
