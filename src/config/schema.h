#pragma once
// The schema of Config: for every section, its keys in documented order, each
// bound to the member that holds it. The loader, dump_config and operator== are
// written once against this table, so adding a key means adding one line here
// (plus its documentation in docs/configs.md, which a test enforces).

#include "flowgrpo/config/config.h"

#include <tuple>
#include <type_traits>
#include <utility>

namespace flowgrpo::config::detail {

template <class S, class T>
struct Field {
  using Section = S;
  using Type = T;
  const char* name;
  T S::*member;
};

template <class S, class T>
constexpr Field<S, T> field(const char* name, T S::*member) {
  return {name, member};
}

inline auto fields_of(const LoraConfig*) {
  using S = LoraConfig;
  return std::make_tuple(field("enabled", &S::enabled), field("rank", &S::rank), field("alpha", &S::alpha),
                         field("target_modules", &S::target_modules), field("init", &S::init),
                         field("path", &S::path));
}

inline auto fields_of(const ModelConfig*) {
  using S = ModelConfig;
  return std::make_tuple(
      field("pretrained", &S::pretrained), field("type", &S::type), field("dtype", &S::dtype),
      field("autocast", &S::autocast), field("gradient_checkpointing", &S::gradient_checkpointing),
      field("resolution", &S::resolution), field("max_sequence_length", &S::max_sequence_length),
      field("prompt_cache", &S::prompt_cache), field("lora", &S::lora));
}

inline auto fields_of(const DataConfig*) {
  using S = DataConfig;
  return std::make_tuple(field("train_prompts", &S::train_prompts), field("test_prompts", &S::test_prompts),
                         field("format", &S::format));
}

inline auto fields_of(const SampleConfig*) {
  using S = SampleConfig;
  return std::make_tuple(
      field("num_steps", &S::num_steps), field("eval_num_steps", &S::eval_num_steps),
      field("noise_level", &S::noise_level), field("guidance_scale", &S::guidance_scale),
      field("eval_guidance_scale", &S::eval_guidance_scale), field("train_batch_size", &S::train_batch_size),
      field("num_image_per_prompt", &S::num_image_per_prompt),
      field("num_batches_per_epoch", &S::num_batches_per_epoch),
      field("test_batch_size", &S::test_batch_size), field("sde_type", &S::sde_type),
      field("sde_window_size", &S::sde_window_size), field("sde_window_range", &S::sde_window_range),
      field("same_latent", &S::same_latent), field("global_std", &S::global_std),
      field("kl_reward", &S::kl_reward));
}

inline auto fields_of(const TrainConfig*) {
  using S = TrainConfig;
  return std::make_tuple(
      field("learning_rate", &S::learning_rate), field("adam_beta1", &S::adam_beta1),
      field("adam_beta2", &S::adam_beta2), field("adam_weight_decay", &S::adam_weight_decay),
      field("adam_epsilon", &S::adam_epsilon), field("max_grad_norm", &S::max_grad_norm),
      field("clip_range", &S::clip_range), field("adv_clip_max", &S::adv_clip_max), field("beta", &S::beta),
      field("timestep_fraction", &S::timestep_fraction), field("num_epochs", &S::num_epochs),
      field("num_inner_epochs", &S::num_inner_epochs),
      field("gradient_accumulation_steps", &S::gradient_accumulation_steps), field("cfg", &S::cfg),
      field("ema", &S::ema), field("ema_update_every", &S::ema_update_every),
      field("ema_max_decay", &S::ema_max_decay), field("save_freq", &S::save_freq),
      field("max_invalid_reward_fraction", &S::max_invalid_reward_fraction),
      field("eval_freq", &S::eval_freq), field("gradient_noise_scale", &S::gradient_noise_scale),
      field("group_micro_batches", &S::group_micro_batches));
}

inline auto fields_of(const EvalConfig*) {
  using S = EvalConfig;
  return std::make_tuple(field("num_images_per_prompt", &S::num_images_per_prompt), field("seed", &S::seed),
                         field("max_prompts", &S::max_prompts));
}

inline auto fields_of(const LoggingConfig*) {
  using S = LoggingConfig;
  return std::make_tuple(field("level", &S::level), field("log_every", &S::log_every),
                         field("metrics_file", &S::metrics_file));
}

inline auto fields_of(const DistConfig*) {
  using S = DistConfig;
  return std::make_tuple(field("backend", &S::backend), field("timeout_seconds", &S::timeout_seconds),
                         field("bucket_size_mb", &S::bucket_size_mb),
                         field("overlap_grad_reduce", &S::overlap_grad_reduce));
}

inline auto fields_of(const PretrainConfig*) {
  using S = PretrainConfig;
  return std::make_tuple(
      field("stage", &S::stage), field("architecture", &S::architecture), field("vae", &S::vae),
      field("kl_weight", &S::kl_weight), field("latent_stat_images", &S::latent_stat_images),
      field("steps", &S::steps), field("batch_size", &S::batch_size),
      field("learning_rate", &S::learning_rate), field("weight_decay", &S::weight_decay),
      field("warmup_steps", &S::warmup_steps), field("max_grad_norm", &S::max_grad_norm),
      field("ema_decay", &S::ema_decay), field("prompt_dropout", &S::prompt_dropout),
      field("logit_normal_mean", &S::logit_normal_mean), field("logit_normal_std", &S::logit_normal_std),
      field("log_every", &S::log_every), field("checkpoint_every", &S::checkpoint_every),
      field("eval_every", &S::eval_every), field("eval_prompts", &S::eval_prompts));
}

inline auto fields_of(const Config*) {
  using S = Config;
  return std::make_tuple(
      field("seed", &S::seed), field("run_name", &S::run_name), field("output_dir", &S::output_dir),
      field("resume", &S::resume), field("model", &S::model), field("data", &S::data),
      field("sample", &S::sample), field("train", &S::train), field("reward", &S::reward),
      field("reward_options", &S::reward_options), field("eval", &S::eval), field("logging", &S::logging),
      field("dist", &S::dist), field("pretrain", &S::pretrain));
}

/// True for the section structs listed above.
template <class T, class = void>
struct is_section : std::false_type {};
template <class T>
struct is_section<T, std::void_t<decltype(fields_of(static_cast<const T*>(nullptr)))>> : std::true_type {};

/// Calls f(field) for every field of section S, in documented order.
template <class S, class F>
void for_each_field(F&& f) {
  std::apply([&](const auto&... fs) { (f(fs), ...); }, fields_of(static_cast<const S*>(nullptr)));
}

/// Key-by-key equality, recursing into sections.
template <class T>
bool equal(const T& a, const T& b) {
  if constexpr (is_section<T>::value) {
    bool same = true;
    for_each_field<T>([&](const auto& f) { same = same && equal(a.*(f.member), b.*(f.member)); });
    return same;
  } else {
    return a == b;
  }
}

}  // namespace flowgrpo::config::detail
