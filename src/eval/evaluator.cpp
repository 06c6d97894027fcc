#include "flowgrpo/eval/evaluator.h"

#include "flowgrpo/sampling/rollout.h"
#include "flowgrpo/sampling/sample_noise.h"

#include <cmath>
#include <cstdio>
#include <sstream>
#include <stdexcept>

namespace flowgrpo::eval {

namespace {

double nan_mean(const torch::Tensor& x) {
  const auto finite = torch::isfinite(x);
  const auto n = finite.sum().item<int64_t>();
  return n == 0 ? NAN : x.masked_select(finite).sum().item<double>() / static_cast<double>(n);
}

MetricSummary summary_of(const torch::Tensor& scores, const torch::Tensor& strict,
                         const torch::Tensor& accuracy) {
  MetricSummary m;
  m.count = torch::isfinite(scores).sum().item<int64_t>();
  m.invalid = scores.numel() - m.count;
  m.score = nan_mean(scores);
  m.strict_accuracy = nan_mean(strict);
  m.accuracy = nan_mean(accuracy);
  return m;
}

nlohmann::json summary_json(const MetricSummary& m, bool with_count) {
  auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  nlohmann::json j{{"strict_accuracy", number(m.strict_accuracy)}, {"score", number(m.score)}};
  if (std::isfinite(m.accuracy)) j["accuracy"] = m.accuracy;
  if (with_count) j["count"] = m.count;
  if (m.invalid > 0) j["invalid"] = m.invalid;
  return j;
}

// A reward's component by name, also as "<part>/<name>" inside a weighted reward
// (the first part that reports it).
}  // namespace

uint64_t eval_image_seed(uint64_t seed, uint64_t prompt, uint64_t image) {
  return sampling::derive_seed({seed, 0xE7A1ull, prompt, image});
}

nlohmann::json EvalResult::to_json() const {
  nlohmann::json tags = nlohmann::json::object();
  for (const auto& [tag, m] : by_tag) tags[tag] = summary_json(m, true);
  return {{"overall", summary_json(overall, false)},
          {"by_tag", tags},
          {"num_images", num_images},
          {"num_steps", num_steps}};
}

std::string EvalResult::table() const {
  std::ostringstream os;
  char line[160];
  std::snprintf(line, sizeof line, "%-16s %7s %10s %10s %8s\n", "tag", "images", "strict", "accuracy",
                "score");
  os << line;
  auto row = [&](const std::string& name, const MetricSummary& m) {
    std::snprintf(line, sizeof line, "%-16s %7lld %9.1f%% %9.1f%% %8.4f\n", name.c_str(),
                  static_cast<long long>(m.count), 100.0 * m.strict_accuracy, 100.0 * m.accuracy, m.score);
    os << line;
  };
  for (const auto& [tag, m] : by_tag) row(tag, m);
  row("overall", overall);
  return os.str();
}

EvalResult evaluate(models::TextToImagePipeline& pipeline, rewards::Reward& reward,
                    const EvalPrompts& prompts, const EvalOptions& options, const EvalProgress& progress) {
  if (prompts.metadata.size() != prompts.size() || prompts.tags.size() != prompts.size())
    throw std::invalid_argument("evaluate: prompts, metadata and tags must have the same length");
  if (prompts.size() == 0) throw std::invalid_argument("evaluate: no prompts to evaluate");
  if (options.images_per_prompt < 1 || options.batch_size < 1 || options.num_steps < 1)
    throw std::invalid_argument("evaluate: images_per_prompt, batch_size and num_steps must be >= 1");

  c10::InferenceMode inference;
  const int64_t per_prompt = options.images_per_prompt;
  const int64_t all = static_cast<int64_t>(prompts.size()) * per_prompt;
  const int64_t first = options.first_image;
  const int64_t end = options.end_image < 0 ? all : options.end_image;
  if (first < 0 || first > end || end > all)
    throw std::invalid_argument("evaluate: image range [" + std::to_string(first) + ", " +
                                std::to_string(end) + ") outside the " + std::to_string(all) +
                                " images of the evaluation");
  const auto schedule = pipeline.schedule(options.num_steps);
  const auto shape = pipeline.latent_shape();
  const auto negative_one = pipeline.encode_prompts({""});

  EvalResult result;
  result.num_steps = options.num_steps;
  result.num_images = end - first;
  std::vector<torch::Tensor> scores, strict, accuracy, images;
  for (int64_t start = first; start < end; start += options.batch_size) {
    const int64_t n = std::min<int64_t>(options.batch_size, end - start);
    std::vector<std::string> batch_prompts;
    std::vector<nlohmann::json> batch_meta;
    std::vector<uint64_t> seeds;
    for (int64_t i = start; i < start + n; ++i) {
      const auto p = static_cast<size_t>(i / per_prompt);
      batch_prompts.push_back(prompts.prompts[p]);
      batch_meta.push_back(prompts.metadata[p]);
      seeds.push_back(eval_image_seed(options.seed, p, static_cast<uint64_t>(i % per_prompt)));
      result.image_prompts.push_back(prompts.prompts[p]);
      result.image_tags.push_back(prompts.tags[p]);
    }
    const auto positive = pipeline.encode_prompts(batch_prompts);
    const auto negative = negative_one.repeat_interleave(n);
    const auto latents =
        sampling::sample_ode(pipeline.velocity_model(), positive, negative, schedule, options.guidance_scale,
                             sampling::SeededNoise(seeds), shape, pipeline.device());
    rewards::RewardBatch batch;
    batch.images = pipeline.decode(latents);
    batch.prompts = batch_prompts;
    batch.metadata = batch_meta;
    batch.mode = rewards::ScoreMode::kEval;
    batch.validate();
    auto r = reward.score(batch);
    r.check(reward.name(), n);
    const auto missing = torch::full({n}, NAN, torch::kDouble);
    scores.push_back(r.scores);
    const auto* s = r.find_component("strict_accuracy");
    const auto* a = r.find_component("accuracy");
    strict.push_back(s != nullptr ? *s : missing);
    accuracy.push_back(a != nullptr ? *a : missing);
    if (options.keep_images) images.push_back(batch.as_uint8());
    if (progress) progress(start + n - first, end - first);
  }
  const auto none = torch::zeros({0}, torch::kDouble);
  result.scores = scores.empty() ? none : torch::cat(scores).to(torch::kDouble);
  result.strict_accuracy = strict.empty() ? none : torch::cat(strict).to(torch::kDouble);
  result.accuracy = accuracy.empty() ? none : torch::cat(accuracy).to(torch::kDouble);
  if (options.keep_images && !images.empty()) result.images = torch::cat(images);
  summarise(result);
  return result;
}

void summarise(EvalResult& result) {
  result.overall = summary_of(result.scores, result.strict_accuracy, result.accuracy);
  result.by_tag.clear();
  std::map<std::string, std::vector<int64_t>> rows;
  for (size_t i = 0; i < result.image_tags.size(); ++i)
    rows[result.image_tags[i]].push_back(static_cast<int64_t>(i));
  for (const auto& [tag, idx] : rows) {
    if (tag.empty()) continue;
    const auto index = torch::tensor(idx, torch::kLong);
    result.by_tag[tag] =
        summary_of(result.scores.index_select(0, index), result.strict_accuracy.index_select(0, index),
                   result.accuracy.index_select(0, index));
  }
}

}  // namespace flowgrpo::eval
