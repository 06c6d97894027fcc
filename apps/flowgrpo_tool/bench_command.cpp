#include "commands.h"

#include <torch/version.h>

#include "flowgrpo/common/process.h"
#include "flowgrpo/io/weight_source.h"
#include "flowgrpo/models/lora.h"
#include "flowgrpo/models/transformers/sd3_transformer.h"
#include "flowgrpo/sampling/rollout.h"
#include "flowgrpo/train/grpo_step.h"

#include <sys/resource.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>

namespace flowgrpo::tool {

namespace {

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // Linux reports KiB
}

// Forward FLOPs of one transformer call per image (matmuls only: 2·params·tokens for
// the linear layers plus the attention products), for achieved-throughput figures.
double forward_flops(const models::SD3TransformerConfig& c, int64_t text_tokens, int64_t linear_params) {
  const double n_img = static_cast<double>((c.sample_size / c.patch_size) * (c.sample_size / c.patch_size));
  const double d = static_cast<double>(c.num_attention_heads * c.attention_head_dim);
  const double tokens = n_img + static_cast<double>(text_tokens);
  const double attn = 4.0 * tokens * tokens * d * static_cast<double>(c.num_layers) +
                      4.0 * n_img * n_img * d * static_cast<double>(c.dual_attention_layers.size());
  return 2.0 * static_cast<double>(linear_params) * tokens + attn;
}

}  // namespace

Command add_bench_command(CLI::App& app) {
  struct Options {
    std::string model, what = "forward", dtype = "float32", device = "cpu";
    int64_t batch = 1, steps = 10, text_tokens = 0, reps = 5, threads = 0;
    double guidance = 4.5;
  };
  auto o = std::make_shared<Options>();
  app.add_option("--model", o->model,
                 "transformer folder with config.json (random weights when none are there)")
      ->required();
  app.add_option("--what", o->what, "forward | rollout | train")
      ->check(CLI::IsMember({"forward", "rollout", "train"}));
  app.add_option("--batch", o->batch, "images per measurement")->check(CLI::PositiveNumber);
  app.add_option("--steps", o->steps, "sampling steps of a rollout")->check(CLI::PositiveNumber);
  app.add_option("--guidance", o->guidance, "CFG scale (> 1 doubles the batch through the model)");
  app.add_option("--text-tokens", o->text_tokens,
                 "text sequence length (default 77 + 128, SD3 with T5 at 128)");
  app.add_option("--threads", o->threads, "LibTorch intra-op threads (default: LibTorch's choice)");
  app.add_option("--dtype", o->dtype, "float32 | bfloat16 | float16");
  app.add_option("--device", o->device, "cpu or cuda[:N]");
  app.add_option("--reps", o->reps, "timed repetitions after one warm-up")->check(CLI::PositiveNumber);
  return [o]() {
    set_torch_threads(static_cast<int>(o->threads));
    namespace fs = std::filesystem;
    const fs::path dir = fs::exists(fs::path(o->model) / "transformer" / "config.json")
                             ? fs::path(o->model) / "transformer"
                             : fs::path(o->model);
    const auto config = models::SD3TransformerConfig::from_file(dir / "config.json");
    const auto dtype = dtype_option(o->dtype);
    const torch::Device device(o->device);
    auto is_weights = [](const fs::path& p) {
      const auto n = p.filename().string();
      return p.extension() == ".safetensors" ||
             (n.size() > 11 && n.compare(n.size() - 11, 11, ".index.json") == 0);
    };
    bool random_weights = true;
    for (const auto& e : fs::directory_iterator(dir))
      if (is_weights(e.path())) random_weights = false;
    // A folder holding only config.json is timed with random weights.
    auto model = random_weights ? models::SD3Transformer(config, dtype, device)
                                : models::SD3Transformer::from_pretrained(dir, {dtype, device});
    const int64_t b = o->batch;
    const int64_t L = o->text_tokens > 0 ? o->text_tokens : 205;
    const std::vector<int64_t> shape{config.in_channels, config.sample_size, config.sample_size};
    torch::manual_seed(0);
    auto opts = torch::TensorOptions().dtype(torch::kFloat).device(device);
    sampling::Conditioning pos{torch::randn({b, L, config.joint_attention_dim}, opts),
                               torch::randn({b, config.pooled_projection_dim}, opts)};
    sampling::Conditioning neg{torch::randn({b, L, config.joint_attention_dim}, opts),
                               torch::randn({b, config.pooled_projection_dim}, opts)};
    models::SD3VelocityModel velocity(model);
    const auto schedule = sampling::sd3_schedule(static_cast<int>(o->steps));
    std::vector<uint64_t> seeds(static_cast<size_t>(b));
    for (int64_t i = 0; i < b; ++i) seeds[static_cast<size_t>(i)] = static_cast<uint64_t>(i);
    sampling::RolloutOptions ro;
    ro.guidance_scale = o->guidance;

    std::function<void()> body;
    double model_calls = 1.0;  // transformer image-forwards per measurement (for FLOPs)
    std::unique_ptr<torch::optim::AdamW> optimizer;
    sampling::Rollout rollout;
    if (o->what == "forward") {
      const auto x = torch::randn({b, shape[0], shape[1], shape[2]}, opts);
      const auto t = torch::full({b}, 500.0f, opts);
      body = [&, x, t] {
        torch::NoGradGuard ng;
        velocity.forward(x, t, pos);
      };
    } else if (o->what == "rollout") {
      model_calls = static_cast<double>(o->steps) * (sampling::uses_cfg(o->guidance) ? 2.0 : 1.0);
      body = [&] {
        torch::NoGradGuard ng;
        sampling::sample_rollout(velocity, pos, neg, schedule, ro, sampling::SeededNoise(seeds), shape,
                                 device);
      };
    } else {
      // One GRPO update of a rollout batch: every trained timestep with CFG, the KL
      // reference pass, backward, and one AdamW step on the LoRA parameters.
      models::inject_lora(*model, models::LoRAConfig::flow_grpo_sd3());
      optimizer = std::make_unique<torch::optim::AdamW>(models::lora_parameters(*model), 3e-4);
      {
        torch::NoGradGuard ng;
        rollout = sampling::sample_rollout(velocity, pos, neg, schedule, ro, sampling::SeededNoise(seeds),
                                           shape, device);
      }
      const int64_t T = sampling::num_train_timesteps(rollout.window, o->steps, 0.99);
      const double cfg = sampling::uses_cfg(o->guidance) ? 2.0 : 1.0;
      model_calls = static_cast<double>(T) * cfg * 4.0;  // forward + backward (~2x) + reference forward
      body = [&, T] {
        rl::MetricAccumulator metrics;
        train::GrpoStepOptions so;
        so.guidance_scale = o->guidance;
        so.loss = {1e-4, 0.04};
        so.loss_scale = 1.0 / static_cast<double>(T);
        const auto adv = torch::randn({b}, opts).clamp(-5, 5);
        for (int64_t j = 0; j < T; ++j) {
          train::GrpoStepInputs in{rollout.latents.select(1, j),
                                   rollout.next_latents.select(1, j),
                                   rollout.step_indices.select(1, j),
                                   rollout.log_probs.select(1, j),
                                   adv,
                                   pos,
                                   neg};
          train::grpo_step(velocity, *model, schedule, in, so, metrics);
        }
        optimizer->step();
        optimizer->zero_grad();
      };
    }
    auto sync = [&] {
#if FLOWGRPO_WITH_CUDA
      if (device.is_cuda()) torch::cuda::synchronize();
#endif
    };
    body();  // warm-up
    sync();
    std::vector<double> times;
    for (int64_t r = 0; r < o->reps; ++r) {
      const auto start = std::chrono::steady_clock::now();
      body();
      sync();
      times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(times.begin(), times.end());
    const double median = times[times.size() / 2];
    int64_t linear_params = 0;
    for (const auto& p : model->named_parameters())
      if (p.value().dim() == 2) linear_params += p.value().numel();
    const double flops = forward_flops(config, L, linear_params) * static_cast<double>(b) * model_calls;
    const char* omp = std::getenv("OMP_WAIT_POLICY");
    nlohmann::json row{{"what", o->what},
                       {"model", o->model},
                       {"random_weights", random_weights},
                       {"batch", b},
                       {"steps", o->what == "forward" ? 1 : o->steps},
                       {"guidance", o->guidance},
                       {"text_tokens", L},
                       {"dtype", o->dtype},
                       {"device", o->device},
                       {"libtorch", TORCH_VERSION},
                       {"threads", at::get_num_threads()},
                       {"omp_wait_policy", omp != nullptr ? omp : ""},
                       {"reps", o->reps},
                       {"median_s", median},
                       {"min_s", times.front()},
                       {"max_s", times.back()},
                       {"images_per_s", static_cast<double>(b) / median},
                       {"approx_tflops", flops / median / 1e12},
                       {"peak_rss_mb", peak_rss_mb()}};
    std::cout << row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
    return 0;
  };
}

}  // namespace flowgrpo::tool
