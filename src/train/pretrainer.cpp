#include "flowgrpo/train/pretrainer.h"
#include "flowgrpo/io/text_file.h"
#include "flowgrpo/train/pretrain_checkpoints.h"

#include "flowgrpo/common/error.h"
#include "flowgrpo/io/safetensors.h"
#include "flowgrpo/io/state_dict.h"
#include "flowgrpo/io/weight_source.h"
#include "flowgrpo/log/logging.h"
#include "flowgrpo/log/progress_bar.h"
#include "flowgrpo/sampling/sample_noise.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace flowgrpo::train {

namespace fs = std::filesystem;

namespace {

// Streams of randomness per step, so that resuming needs nothing but the step.
enum PretrainStream : uint64_t { kDropout = 1, kSigma = 2, kPretrainNoise = 3 };

at::Generator step_generator(int64_t seed, int64_t step, PretrainStream stream) {
  return at::detail::createCPUGenerator(
      sampling::derive_seed({static_cast<uint64_t>(seed), 0x9E7Aull, static_cast<uint64_t>(step), stream}));
}

}  // namespace

Pretrainer::Pretrainer(const config::Config& config, shapes::ShapesPipeline& pipeline,
                       data::ImageTextSource& data, fs::path output_dir, PretrainEvalHook eval_hook)
    : config_(config),
      pipeline_(pipeline),
      data_(data),
      output_dir_(std::move(output_dir)),
      eval_hook_(std::move(eval_hook)) {
  optimizer_ = make_pretrain_optimizer(config_.pretrain, parameters());
  ema_ = make_pretrain_ema(config_.pretrain, parameters());
}

std::vector<torch::Tensor> Pretrainer::parameters() const {
  std::vector<torch::Tensor> params = pipeline_.transformer()->parameters();
  for (auto& t : pipeline_.text_encoder()->parameters()) params.push_back(t);
  return params;
}

double Pretrainer::learning_rate_at(int64_t step) const {
  return warmup_learning_rate(config_.pretrain, step);
}

torch::Tensor Pretrainer::loss(int64_t step, const data::ImageTextBatch& batch) {
  const auto& p = config_.pretrain;
  const int64_t n = batch.images.size(0);
  if (static_cast<int64_t>(batch.prompts.size()) != n)
    throw std::invalid_argument("pretraining batch: " + std::to_string(n) + " images but " +
                                std::to_string(batch.prompts.size()) + " prompts");
  const auto device = pipeline_.device();
  // Classifier-free guidance needs the model to know the empty prompt too.
  auto dropout_gen = step_generator(config_.seed, step, kDropout);
  const auto drop = torch::rand({n}, dropout_gen) < p.prompt_dropout;
  std::vector<std::string> prompts = batch.prompts;
  for (int64_t i = 0; i < n; ++i)
    if (drop[i].item<bool>()) prompts[static_cast<size_t>(i)] = "";

  auto sigma_gen = step_generator(config_.seed, step, kSigma);
  const auto u = torch::randn({n}, sigma_gen, torch::kDouble) * p.logit_normal_std + p.logit_normal_mean;
  const auto sigma = torch::sigmoid(u).to(torch::kFloat);
  const auto x0 = pipeline_.encode_images(batch.images).to(torch::kCPU);
  auto noise_gen = step_generator(config_.seed, step, kPretrainNoise);
  const auto eps = torch::randn(x0.sizes(), noise_gen, torch::kFloat);
  const auto s = sigma.view({n, 1, 1, 1});
  const auto x_t = ((1 - s) * x0 + s * eps).to(device);
  const auto target = (eps - x0).to(device);
  const auto cond = pipeline_.encode_prompts(prompts);
  const auto v = pipeline_.velocity_model().forward(x_t, (sigma * 1000.0f).to(device), cond);
  return torch::mse_loss(v.to(torch::kFloat), target);
}

int64_t Pretrainer::run() {
  auto log = log::get("pretrain");
  const auto& p = config_.pretrain;
  if (const auto from = resolve_pretrain_resume(config_.resume, output_dir_)) load_checkpoint(*from);
  auto metrics = open_pretrain_metrics(output_dir_, step_);

  const int64_t start = step_;
  log::ProgressBar bar("pretrain", p.steps);
  bar.advance(step_);
  double loss_sum = 0.0;
  int64_t loss_count = 0;
  auto window_start = std::chrono::steady_clock::now();
  pipeline_.transformer()->train();
  pipeline_.text_encoder()->train();
  while (step_ < p.steps) {
    for (auto& group : optimizer_->param_groups())
      static_cast<torch::optim::AdamWOptions&>(group.options()).lr(learning_rate_at(step_));
    const auto batch = data_.batch(step_, p.batch_size);
    optimizer_->zero_grad();
    auto l = loss(step_, batch);
    if (!std::isfinite(l.item<double>()))
      throw std::runtime_error("pretraining diverged: loss is " + std::to_string(l.item<double>()) +
                               " at step " + std::to_string(step_));
    l.backward();
    if (p.max_grad_norm > 0) torch::nn::utils::clip_grad_norm_(parameters(), p.max_grad_norm);
    optimizer_->step();
    ema_->step(parameters(), step_);
    loss_sum += l.item<double>();
    ++loss_count;
    ++step_;
    bar.advance();

    if (step_ % p.log_every == 0 || step_ == p.steps) {
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - window_start).count();
      const nlohmann::json row{{"step", step_},
                               {"loss", loss_sum / static_cast<double>(loss_count)},
                               {"lr", learning_rate_at(step_ - 1)},
                               {"seconds_per_step", seconds / static_cast<double>(loss_count)}};
      metrics << row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n" << std::flush;
      char postfix[96];
      std::snprintf(postfix, sizeof postfix, "loss=%.4f", loss_sum / static_cast<double>(loss_count));
      bar.set_postfix(postfix);
      log->debug("{}", row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      loss_sum = 0.0;
      loss_count = 0;
      window_start = std::chrono::steady_clock::now();
    }
    if (step_ % p.checkpoint_every == 0 || step_ == p.steps) save_checkpoint();
    if (eval_hook_ && p.eval_every > 0 && (step_ % p.eval_every == 0 || step_ == p.steps)) {
      nlohmann::json result;
      {
        rl::Ema::SwapScope ema_weights(*ema_, parameters());
        pipeline_.transformer()->eval();
        pipeline_.text_encoder()->eval();
        result = eval_hook_(step_);
        pipeline_.transformer()->train();
        pipeline_.text_encoder()->train();
      }
      metrics << nlohmann::json{{"step", step_}, {"eval", result}}.dump(
                     -1, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n"
              << std::flush;
    }
  }
  bar.finish();
  save_ema_model(output_dir_ / "model");
  log->info("pretraining done: {} steps this run, EMA model in {}", step_ - start,
            (output_dir_ / "model").string());
  return step_ - start;
}

void Pretrainer::save_ema_model(const fs::path& dir) {
  rl::Ema::SwapScope ema_weights(*ema_, parameters());
  pipeline_.save(dir);
}

void Pretrainer::save_checkpoint() {
  const auto tmp = begin_checkpoint(output_dir_, "step-" + std::to_string(step_));
  pipeline_.save(tmp / "model");
  save_ema(*ema_, tmp / "ema.safetensors");
  torch::save(*optimizer_, (tmp / "optimizer.pt").string());
  io::write_text_atomic(tmp / "state.json", nlohmann::json{{"step", step_}, {"stage", "transformer"}}.dump(
                                                -1, ' ', false, nlohmann::json::error_handler_t::replace) +
                                                "\n");
  publish_checkpoint(tmp);
}

void Pretrainer::load_checkpoint(const fs::path& dir) {
  with_context("resuming pretraining from " + dir.string(), [&] {
    const auto state_file = dir / "state.json";
    if (!fs::exists(state_file)) throw std::invalid_argument("missing " + state_file.string());
    const auto state = io::read_json_file(state_file);
    const int64_t step = io::json_integer(state, "step", state_file);
    // Checkpoints without a stage predate the VAE stage: transformer ones.
    std::string stage = "transformer";
    if (state.contains("stage")) {
      if (!state["stage"].is_string())
        throw std::invalid_argument(
            state_file.string() + ": key 'stage' must be a string, found " +
            state["stage"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      stage = state["stage"].get<std::string>();
    }
    if (stage != "transformer")
      throw std::invalid_argument(state_file.string() + ": a '" + stage +
                                  "'-stage checkpoint, not a transformer-stage one");
    auto loaded = shapes::ShapesPipeline::load(dir / "model", pipeline_.device());
    torch::NoGradGuard no_grad;
    io::load_state_dict(*pipeline_.transformer(), io::state_dict(*loaded->transformer()), dir.string());
    io::load_state_dict(*pipeline_.text_encoder(), io::state_dict(*loaded->text_encoder()), dir.string());
    load_ema(*ema_, parameters().size(), dir / "ema.safetensors");
    const auto optimizer_file = dir / "optimizer.pt";
    with_context(optimizer_file.string(), [&] { torch::load(*optimizer_, optimizer_file.string()); });
    step_ = step;
  });
  log::get("pretrain")->info("resumed from {} at step {}", dir.string(), step_);
}

}  // namespace flowgrpo::train
