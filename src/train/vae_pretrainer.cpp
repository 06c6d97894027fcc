#include "flowgrpo/train/vae_pretrainer.h"

#include "flowgrpo/common/error.h"
#include "flowgrpo/io/state_dict.h"
#include "flowgrpo/io/text_file.h"
#include "flowgrpo/log/logging.h"
#include "flowgrpo/log/progress_bar.h"
#include "flowgrpo/sampling/sample_noise.h"
#include "flowgrpo/shapes/shapes_pipeline.h"
#include "flowgrpo/train/pretrain_checkpoints.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>

namespace flowgrpo::train {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kVaePosteriorStream = 0x7AE1ull;
// Batches for the latent statistics come from data-source steps no training run reaches.
constexpr int64_t kStatisticsFirstStep = int64_t{1} << 40;
constexpr int64_t kStatisticsBatch = 256;

}  // namespace

VaePretrainer::VaePretrainer(const config::Config& config, models::AutoencoderKL& vae,
                             data::ImageTextSource& data, fs::path output_dir, VaeEvalHook eval_hook)
    : config_(config),
      vae_(vae),
      data_(data),
      output_dir_(std::move(output_dir)),
      eval_hook_(std::move(eval_hook)) {
  optimizer_ = make_pretrain_optimizer(config_.pretrain, parameters());
  ema_ = make_pretrain_ema(config_.pretrain, parameters());
}

std::vector<torch::Tensor> VaePretrainer::parameters() const {
  return vae_->parameters();
}

VaeLoss VaePretrainer::loss(int64_t step, const data::ImageTextBatch& batch) {
  const auto x = shapes::ShapesPipeline::normalize_images(batch.images).to(vae_->device());
  const auto posterior = vae_->encode(x);
  auto gen = at::detail::createCPUGenerator(sampling::derive_seed(
      {static_cast<uint64_t>(config_.seed), kVaePosteriorStream, static_cast<uint64_t>(step)}));
  const auto z = posterior.sample(gen);
  const auto reconstruction = (vae_->decode(z) - x).abs().mean();
  // KL(N(μ, σ²) ‖ N(0, 1)) per element, averaged (diffusers sums; the weight absorbs the difference).
  const auto kl = 0.5 * (posterior.mean.pow(2) + posterior.logvar.exp() - 1.0 - posterior.logvar).mean();
  VaeLoss out;
  out.total = reconstruction + config_.pretrain.kl_weight * kl;
  out.reconstruction = reconstruction.item<double>();
  out.kl = kl.item<double>();
  return out;
}

LatentFactors VaePretrainer::measure_latent_factors(int64_t num_images) {
  if (num_images < 1) throw std::invalid_argument("latent statistics need at least one image");
  torch::NoGradGuard no_grad;
  double sum = 0.0, sum_sq = 0.0;
  int64_t count = 0;
  for (int64_t done = 0, b = 0; done < num_images; ++b) {
    const int64_t n = std::min(kStatisticsBatch, num_images - done);
    const auto batch = data_.batch(kStatisticsFirstStep + b, n);
    const auto z = vae_->encode(shapes::ShapesPipeline::normalize_images(batch.images).to(vae_->device()))
                       .mode()
                       .to(torch::kDouble);
    sum += z.sum().item<double>();
    sum_sq += z.pow(2).sum().item<double>();
    count += z.numel();
    done += n;
  }
  const double mean = sum / static_cast<double>(count);
  const double var = std::max(sum_sq / static_cast<double>(count) - mean * mean, 0.0);
  if (!(var > 0.0)) throw std::runtime_error("latent statistics: the VAE's latents have zero variance");
  return {mean, 1.0 / std::sqrt(var)};
}

int64_t VaePretrainer::run() {
  auto log = log::get("pretrain");
  const auto& p = config_.pretrain;
  if (const auto from = resolve_pretrain_resume(config_.resume, output_dir_)) load_checkpoint(*from);
  auto metrics = open_pretrain_metrics(output_dir_, step_);

  const int64_t start = step_;
  log::ProgressBar bar("vae", p.steps);
  bar.advance(step_);
  double rec_sum = 0.0, kl_sum = 0.0;
  int64_t count = 0;
  auto window_start = std::chrono::steady_clock::now();
  vae_->train();
  while (step_ < p.steps) {
    for (auto& group : optimizer_->param_groups())
      static_cast<torch::optim::AdamWOptions&>(group.options()).lr(warmup_learning_rate(p, step_));
    const auto batch = data_.batch(step_, p.batch_size);
    optimizer_->zero_grad();
    auto l = loss(step_, batch);
    if (!std::isfinite(l.reconstruction) || !std::isfinite(l.kl))
      throw std::runtime_error("VAE pretraining diverged at step " + std::to_string(step_) +
                               ": reconstruction " + std::to_string(l.reconstruction) + ", KL " +
                               std::to_string(l.kl));
    l.total.backward();
    if (p.max_grad_norm > 0) torch::nn::utils::clip_grad_norm_(parameters(), p.max_grad_norm);
    optimizer_->step();
    ema_->step(parameters(), step_);
    rec_sum += l.reconstruction;
    kl_sum += l.kl;
    ++count;
    ++step_;
    bar.advance();

    if (step_ % p.log_every == 0 || step_ == p.steps) {
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - window_start).count();
      const double n = static_cast<double>(count);
      const nlohmann::json row{{"step", step_},
                               {"l1", rec_sum / n},
                               {"kl", kl_sum / n},
                               {"lr", warmup_learning_rate(p, step_ - 1)},
                               {"seconds_per_step", seconds / n}};
      metrics << row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n" << std::flush;
      char postfix[96];
      std::snprintf(postfix, sizeof postfix, "l1=%.4f kl=%.3f", rec_sum / n, kl_sum / n);
      bar.set_postfix(postfix);
      log->debug("{}", row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      rec_sum = kl_sum = 0.0;
      count = 0;
      window_start = std::chrono::steady_clock::now();
    }
    if (step_ % p.checkpoint_every == 0 || step_ == p.steps) save_checkpoint();
    if (eval_hook_ && p.eval_every > 0 && (step_ % p.eval_every == 0 || step_ == p.steps)) {
      nlohmann::json result;
      {
        rl::Ema::SwapScope ema_weights(*ema_, parameters());
        vae_->eval();
        torch::NoGradGuard no_grad;
        result = eval_hook_(step_, vae_);
        vae_->train();
      }
      metrics << nlohmann::json{{"step", step_}, {"eval", result}}.dump(
                     -1, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n"
              << std::flush;
    }
  }
  bar.finish();

  // The shipped VAE: EMA weights, factors measured on them.
  ema_->copy_to(parameters());
  vae_->eval();
  const auto factors = measure_latent_factors(p.latent_stat_images);
  auto config = vae_->config();
  config.shift_factor = factors.shift_factor;
  config.scaling_factor = factors.scaling_factor;
  models::AutoencoderKL final_vae(config);
  {
    torch::NoGradGuard no_grad;
    io::load_state_dict(*final_vae, io::state_dict(*vae_), "the trained VAE");
  }
  final_vae->save_pretrained(output_dir_ / "vae");
  metrics << nlohmann::json{{"step", step_},
                            {"shift_factor", factors.shift_factor},
                            {"scaling_factor", factors.scaling_factor}}
                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
          << "\n"
          << std::flush;
  log->info(
      "VAE pretraining done: {} steps this run; latents of {} renders give shift_factor {:.6g}, "
      "scaling_factor {:.6g}; VAE in {}",
      step_ - start, p.latent_stat_images, factors.shift_factor, factors.scaling_factor,
      (output_dir_ / "vae").string());
  return step_ - start;
}

void VaePretrainer::save_checkpoint() {
  const auto tmp = begin_checkpoint(output_dir_, "step-" + std::to_string(step_));
  vae_->save_pretrained(tmp / "vae");
  save_ema(*ema_, tmp / "ema.safetensors");
  torch::save(*optimizer_, (tmp / "optimizer.pt").string());
  io::write_text_atomic(tmp / "state.json", nlohmann::json{{"step", step_}, {"stage", "vae"}}.dump(
                                                -1, ' ', false, nlohmann::json::error_handler_t::replace) +
                                                "\n");
  publish_checkpoint(tmp);
}

void VaePretrainer::load_checkpoint(const fs::path& dir) {
  with_context("resuming VAE pretraining from " + dir.string(), [&] {
    const auto state_file = dir / "state.json";
    const auto state = io::read_json_file(state_file);
    const int64_t step = io::json_integer(state, "step", state_file);
    // Checkpoints without a stage are transformer-stage ones.
    const auto stage = state.contains("stage") ? state["stage"] : nlohmann::json("transformer");
    if (stage != "vae")
      throw std::invalid_argument(state_file.string() + ": not a VAE-stage checkpoint (stage " +
                                  stage.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + ")");
    auto loaded = models::AutoencoderKL::from_pretrained(dir / "vae");
    if (loaded->config() != vae_->config())
      throw std::invalid_argument("vae/config.json differs from the architecture being trained");
    torch::NoGradGuard no_grad;
    io::load_state_dict(*vae_, io::state_dict(*loaded), dir.string());
    load_ema(*ema_, parameters().size(), dir / "ema.safetensors");
    const auto optimizer_file = dir / "optimizer.pt";
    with_context(optimizer_file.string(), [&] { torch::load(*optimizer_, optimizer_file.string()); });
    step_ = step;
  });
  log::get("pretrain")->info("resumed from {} at step {}", dir.string(), step_);
}

}  // namespace flowgrpo::train
