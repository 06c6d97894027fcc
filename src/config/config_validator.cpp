#include "flowgrpo/config/config_validator.h"

#include "config/batch_checks.h"
#include "config/text.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>

namespace flowgrpo::config {

namespace {

using detail::format_number;

constexpr double kInf = std::numeric_limits<double>::infinity();

/// Collects problems; each names the key, its value and what is allowed.
class Checker {
 public:
  void add(std::string problem) { problems_.push_back(std::move(problem)); }

  void at_least(const std::string& key, long long value, long long min, const std::string& why = "") {
    if (value < min)
      add(key + " = " + std::to_string(value) + ": must be >= " + std::to_string(min) + reason(why));
  }

  /// value in the interval lo..hi, each end open or closed; hi may be infinite.
  /// Non-finite values always fail (the comparisons are written so NaN fails).
  void in_range(const std::string& key, double value, double lo, bool lo_open, double hi, bool hi_open,
                const std::string& why = "") {
    const bool above = lo_open ? value > lo : value >= lo;
    const bool below = std::isinf(hi) ? std::isfinite(value) : (hi_open ? value < hi : value <= hi);
    if (above && below) return;
    std::string range;
    if (std::isinf(hi)) {
      range = std::string(lo_open ? "> " : ">= ") + format_number(lo) + " and finite";
    } else {
      range = std::string("in ") + (lo_open ? "(" : "[") + format_number(lo) + ", " + format_number(hi) +
              (hi_open ? ")" : "]");
    }
    add(key + " = " + format_number(value) + ": must be " + range + reason(why));
  }

  void not_empty(const std::string& key, const std::string& value, const std::string& what) {
    if (value.empty()) add(key + " is empty: " + what);
  }

  const std::vector<std::string>& problems() const { return problems_; }

 private:
  static std::string reason(const std::string& why) { return why.empty() ? "" : " (" + why + ")"; }
  std::vector<std::string> problems_;
};

void check_top_level(const Config& c, Checker& check) {
  check.at_least("seed", c.seed, 0);
  if (c.run_name.empty()) {
    check.add("run_name is empty: name the run (it names the output directory runs/{run_name})");
  } else if (c.run_name.find_first_of("/\\") != std::string::npos) {
    check.add("run_name = '" + c.run_name +
              "': must not contain '/' (it is one directory name; use output_dir "
              "to choose where runs go)");
  }
  check.not_empty("output_dir", c.output_dir, "set the run directory, e.g. runs/{run_name}");
}

void check_model(const ModelConfig& m, Checker& check) {
  check.not_empty("model.pretrained", m.pretrained,
                  "set it to a diffusers pipeline folder, e.g. models/stable-diffusion-3.5-medium");
  if (m.type == ModelType::kShapes) {
    // Pixel-space toy model: no VAE; the model folder fixes the size (checked at load).
    if (m.resolution < 8 || m.resolution > 256)
      check.add("model.resolution = " + std::to_string(m.resolution) +
                ": must be in [8, 256] for model.type shapes");
  } else if (m.resolution < 8 || m.resolution > 4096 || m.resolution % 2 != 0) {
    // The exact rule (a multiple of the VAE's factor times the patch size, within the
    // positional table: 16 for SD3.5) needs the model's configs and is checked when
    // the pipeline is loaded, before any weight is read.
    check.add("model.resolution = " + std::to_string(m.resolution) +
              ": must be an even number in [8, 4096] (a multiple of 16 for SD3.5: VAE x8, patch 2)");
  }
  check.at_least("model.max_sequence_length", m.max_sequence_length, 2);
  if (m.prompt_cache.empty())
    check.add(
        "model.prompt_cache is empty: use auto (<output_dir>/prompt_embeddings.safetensors), off, or a file");
  const LoraConfig& l = m.lora;
  if (!l.enabled) {
    if (!l.path.empty())
      check.add("model.lora.path = '" + l.path + "' is set but model.lora.enabled is false");
    return;
  }
  check.at_least("model.lora.rank", l.rank, 1);
  check.in_range("model.lora.alpha", l.alpha, 0, true, kInf, false, "the adapter is scaled by alpha / rank");
  if (l.target_modules.empty())
    check.add(
        "model.lora.target_modules is empty: list the modules that get an adapter, e.g. [attn.to_q, "
        "attn.to_k, attn.to_v, attn.to_out.0]");
  std::set<std::string> seen;
  for (std::size_t i = 0; i < l.target_modules.size(); ++i) {
    const std::string& name = l.target_modules[i];
    if (name.empty())
      check.add("model.lora.target_modules[" + std::to_string(i) + "] is empty");
    else if (!seen.insert(name).second)
      check.add("model.lora.target_modules lists '" + name + "' twice");
  }
}

void check_data(const Config& c, Checker& check) {
  check.not_empty("data.train_prompts", c.data.train_prompts,
                  "set the training prompt file, e.g. dataset/geneval/train_metadata.jsonl");
  if (c.data.test_prompts.empty() && c.train.eval_freq > 0)
    check.add("data.test_prompts is empty but train.eval_freq = " + std::to_string(c.train.eval_freq) +
              " asks for evaluation: set data.test_prompts, or train.eval_freq: 0 to never evaluate");
}

void check_sample(const SampleConfig& s, Checker& check) {
  // num_steps, train_batch_size, num_image_per_prompt, num_batches_per_epoch and
  // sde_window_size are checked with the batch layout.
  check.at_least("sample.eval_num_steps", s.eval_num_steps, 1);
  if (s.sde_type == SdeType::kCps) {
    check.in_range("sample.noise_level", s.noise_level, 0, true, 1, false,
                   "with sde_type cps the step noise is sigma_next * sin(a * pi / 2), largest at 1; 0 is the "
                   "deterministic ODE, whose log-probabilities cannot be trained");
  } else {
    check.in_range(
        "sample.noise_level", s.noise_level, 0, true, 2, false,
        "the SDE noise scale a; 0 is the deterministic ODE, whose log-probabilities cannot be trained; "
        "the paper uses 0.7");
  }
  check.in_range("sample.guidance_scale", s.guidance_scale, 1, false, kInf, false,
                 "1 disables classifier-free guidance");
  if (s.eval_guidance_scale)
    check.in_range("sample.eval_guidance_scale", *s.eval_guidance_scale, 1, false, kInf, false,
                   "null uses sample.guidance_scale");
  check.at_least("sample.test_batch_size", s.test_batch_size, 1);
  check.in_range("sample.kl_reward", s.kl_reward, 0, false, kInf, false);

  const int w = s.sde_window_size;
  if (w > 0 && s.num_steps >= 1) {
    const int first = s.sde_window_range[0], end = s.sde_window_range[1];
    const std::string range = "[" + std::to_string(first) + ", " + std::to_string(end) + "]";
    if (w > s.num_steps - 1) {
      check.add("sample.sde_window_size = " + std::to_string(w) + ": must be <= sample.num_steps - 1 = " +
                std::to_string(s.num_steps - 1) + " (the last step is never trained)");
    } else if (first < 0 || end > s.num_steps - 1 || end - first < w) {
      check.add("sample.sde_window_range = " + range +
                ": must satisfy 0 <= first, first + sde_window_size (" + std::to_string(w) +
                ") <= end <= sample.num_steps - 1 (" + std::to_string(s.num_steps - 1) +
                "); the window [start, start + " + std::to_string(w) +
                ") starts at a step drawn from first .. "
                "end - " +
                std::to_string(w) + ", and the last step is never trained (its log-probability overflows)");
    }
  }
}

void check_train(const TrainConfig& t, Checker& check) {
  // gradient_accumulation_steps, num_inner_epochs and timestep_fraction are checked
  // with the batch layout.
  check.in_range("train.learning_rate", t.learning_rate, 0, true, kInf, false);
  check.in_range("train.adam_beta1", t.adam_beta1, 0, false, 1, true);
  check.in_range("train.adam_beta2", t.adam_beta2, 0, false, 1, true);
  check.in_range("train.adam_weight_decay", t.adam_weight_decay, 0, false, kInf, false);
  check.in_range("train.adam_epsilon", t.adam_epsilon, 0, true, kInf, false);
  check.in_range("train.max_grad_norm", t.max_grad_norm, 0, true, kInf, false);
  check.in_range(
      "train.clip_range", t.clip_range, 0, true, 1, true,
      "the PPO ratio is clipped to [1 - clip_range, 1 + clip_range]; the reference uses 1e-4, or 1e-5 "
      "with sde_type cps");
  check.in_range("train.adv_clip_max", t.adv_clip_max, 0, true, kInf, false);
  check.in_range("train.beta", t.beta, 0, false, kInf, false, "KL-loss weight; 0 disables the KL term");
  check.at_least("train.num_epochs", t.num_epochs, 1);
  check.at_least("train.ema_update_every", t.ema_update_every, 1);
  check.in_range("train.ema_max_decay", t.ema_max_decay, 0, false, 1, true);
  check.at_least("train.save_freq", t.save_freq, 0, "0 = never save");
  check.in_range("train.max_invalid_reward_fraction", t.max_invalid_reward_fraction, 0, false, 1, false,
                 "the trainer stops when more of an epoch's samples have no valid reward; 1 = never stop");
  check.at_least("train.eval_freq", t.eval_freq, 0, "0 = never evaluate");
  if (t.gradient_noise_scale && t.gradient_accumulation_steps < 2)
    check.add(
        "train.gradient_noise_scale: needs train.gradient_accumulation_steps >= 2 (it compares the "
        "micro-batches of one optimizer step), found " +
        std::to_string(t.gradient_accumulation_steps));
}

void check_reward(const std::vector<RewardWeight>& rewards, Checker& check) {
  if (rewards.empty()) {
    check.add(
        "reward is empty: name at least one reward and its weight, e.g. reward: {geneval: 1.0}, or "
        "include: rewards/geneval.yaml");
    return;
  }
  bool any_nonzero = false;
  for (const auto& r : rewards) {
    if (r.name.empty()) check.add("reward: a reward has an empty name");
    if (!std::isfinite(r.weight)) {
      check.add("reward." + r.name + " = " + format_number(r.weight) + ": the weight must be finite");
    } else if (r.weight != 0.0) {
      any_nonzero = true;
    }
  }
  bool all_finite = true;
  for (const auto& r : rewards) all_finite = all_finite && std::isfinite(r.weight);
  if (all_finite && !any_nonzero)
    check.add("reward: every weight is 0, so the combined reward is constant and nothing is learned");
}

void check_reward_options(const Config& c, Checker& check) {
  if (!c.reward_options.is_object()) {
    check.add("reward_options: expected a mapping of reward name to options, found " +
              c.reward_options.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }
  for (const auto& [name, options] : c.reward_options.items()) {
    const bool configured =
        std::any_of(c.reward.begin(), c.reward.end(), [&](const RewardWeight& r) { return r.name == name; });
    if (!configured)
      check.add("reward_options." + name + ": options for a reward that is not in 'reward' (configured: " +
                [&] {
                  std::string names;
                  for (const auto& r : c.reward) names += (names.empty() ? "" : ", ") + r.name;
                  return names.empty() ? std::string("none") : names;
                }() +
                ")");
    if (!options.is_object())
      check.add("reward_options." + name + ": expected a mapping of option to value, found " +
                options.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
}

void check_rest(const Config& c, int world_size, Checker& check) {
  check.at_least("eval.num_images_per_prompt", c.eval.num_images_per_prompt, 1);
  check.at_least("eval.seed", c.eval.seed, 0);
  check.at_least("eval.max_prompts", c.eval.max_prompts, 0, "0 = all test prompts");
  check.at_least("logging.log_every", c.logging.log_every, 1);
  check.at_least("dist.timeout_seconds", c.dist.timeout_seconds, 1);
  check.in_range("dist.bucket_size_mb", c.dist.bucket_size_mb, 0, true, 4096, false);
  if (c.train.gradient_noise_scale && world_size > 1)
    check.add(
        "train.gradient_noise_scale: measured on one process (its micro-batch gradients are a single "
        "rank's), but the world size is " +
        std::to_string(world_size) + "; run the noise-scale study with one process");
  if (c.dist.backend == DistBackend::kNone && world_size > 1)
    check.add("dist.backend = none but the world size is " + std::to_string(world_size) +
              ": a multi-process run needs gloo, nccl or auto");
}

void check_pretrain(const Config& c, Checker& check) {
  const auto& p = c.pretrain;
  check.not_empty("pretrain.architecture", p.architecture,
                  "set the folder holding the model's component configs, e.g. configs/shapes_model");
  if (p.stage != "transformer" && p.stage != "vae")
    check.add("pretrain.stage = '" + p.stage + "': expected 'transformer' or 'vae'");
  check.in_range("pretrain.kl_weight", p.kl_weight, 0, false, kInf, false);
  check.at_least("pretrain.latent_stat_images", p.latent_stat_images, 1);
  check.at_least("pretrain.steps", p.steps, 1);
  check.at_least("pretrain.batch_size", p.batch_size, 1);
  check.in_range("pretrain.learning_rate", p.learning_rate, 0, true, kInf, false);
  check.in_range("pretrain.weight_decay", p.weight_decay, 0, false, kInf, false);
  check.at_least("pretrain.warmup_steps", p.warmup_steps, 0);
  check.in_range("pretrain.max_grad_norm", p.max_grad_norm, 0, false, kInf, false, "0 = no clipping");
  check.in_range("pretrain.ema_decay", p.ema_decay, 0, false, 1, true);
  check.in_range("pretrain.prompt_dropout", p.prompt_dropout, 0, false, 1, true);
  check.in_range("pretrain.logit_normal_mean", p.logit_normal_mean, -kInf, false, kInf, false);
  check.in_range("pretrain.logit_normal_std", p.logit_normal_std, 0, true, kInf, false);
  check.at_least("pretrain.log_every", p.log_every, 1);
  check.at_least("pretrain.checkpoint_every", p.checkpoint_every, 1);
  check.at_least("pretrain.eval_every", p.eval_every, 0, "0 = never evaluate");
  if (p.eval_every > 0 && p.eval_prompts.empty() && c.data.train_prompts.empty())
    check.add("pretrain.eval_every > 0 but neither pretrain.eval_prompts nor data.train_prompts is set");
  if (c.data.train_prompts.empty())
    check.add("data.train_prompts is empty: pretraining draws its prompts from it");
  check.at_least("sample.eval_num_steps", c.sample.eval_num_steps, 1);
  check.at_least("seed", c.seed, 0);
}

[[noreturn]] void throw_problems(const std::vector<std::string>& problems) {
  if (problems.size() == 1) throw std::invalid_argument("invalid configuration: " + problems.front());
  throw std::invalid_argument("invalid configuration (" + std::to_string(problems.size()) +
                              " problems):\n  - " + detail::join(problems, "\n  - "));
}

}  // namespace

void validate_pretrain(const Config& config) {
  Checker check;
  check_pretrain(config, check);
  if (!check.problems().empty()) throw_problems(check.problems());
}

BatchLayout validate(const Config& config, int world_size) {
  Checker check;
  check_top_level(config, check);
  check_model(config.model, check);
  check_data(config, check);
  check_sample(config.sample, check);
  check_train(config.train, check);
  check_reward(config.reward, check);
  check_reward_options(config, check);
  check_rest(config, world_size, check);
  BatchLayout layout;
  for (auto& problem : detail::batch_layout_problems(config, world_size, layout))
    check.add(std::move(problem));

  if (!check.problems().empty()) throw_problems(check.problems());
  return layout;
}

}  // namespace flowgrpo::config
