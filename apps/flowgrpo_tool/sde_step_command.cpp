#include "commands.h"

#include "flowgrpo/io/safetensors.h"
#include "flowgrpo/sampling/flow_step.h"

#include <memory>
#include <stdexcept>

namespace flowgrpo::tool {

namespace {

torch::Tensor require(const io::TensorMap& in, const std::string& file, const std::string& name) {
  auto it = in.find(name);
  if (it == in.end()) throw std::invalid_argument(file + ": missing tensor '" + name + "'");
  return it->second;
}

}  // namespace

Command add_sde_step_command(CLI::App& app) {
  struct Options {
    std::string input, output, type = "sde";
    double noise_level = 0.7;
  };
  auto o = std::make_shared<Options>();
  app.add_option("--input", o->input,
                 "safetensors with sample, model_output, sigmas [N+1], step_index (int64, 1 or B elements) "
                 "and either prev_sample (score it) or noise (draw it)")
      ->required();
  app.add_option("--output", o->output,
                 "safetensors to write: prev_sample, prev_sample_mean, std_dev_t [B], log_prob [B]")
      ->required();
  app.add_option("--type", o->type, "sde (Flow-SDE) or cps")->check(CLI::IsMember({"sde", "cps"}));
  app.add_option("--noise-level", o->noise_level, "noise level a (flow_grpo's sample.noise_level)");
  return [o]() {
    const auto in = io::load_safetensors(o->input);
    const auto sample = require(in, o->input, "sample");
    const auto model_output = require(in, o->input, "model_output");
    const auto sigmas = require(in, o->input, "sigmas").to(torch::kFloat).flatten();
    const auto step_index = require(in, o->input, "step_index");
    if (step_index.scalar_type() != torch::kLong)
      throw std::invalid_argument(o->input + ": tensor 'step_index' must be int64 (I64)");
    const auto idx = step_index.flatten();
    const int64_t n = sigmas.numel() - 1;
    if (n < 1) throw std::invalid_argument(o->input + ": tensor 'sigmas' needs at least 2 elements (N+1)");
    if (idx.numel() < 1 || idx.min().item<int64_t>() < 0 || idx.max().item<int64_t>() >= n)
      throw std::invalid_argument(o->input + ": 'step_index' must lie in [0, " + std::to_string(n) + ")");
    const bool score = in.count("prev_sample") > 0;
    if (!score && in.count("noise") == 0)
      throw std::invalid_argument(o->input + ": needs either 'prev_sample' (to score) or 'noise' (to draw)");
    const auto out = sampling::flow_step(
        sampling::parse_sde_type(o->type), model_output, sample, sigmas.index_select(0, idx),
        sigmas.index_select(0, idx + 1), sigmas[1].item<double>(), o->noise_level,
        score ? torch::Tensor() : in.at("noise"), score ? in.at("prev_sample") : torch::Tensor());
    const int64_t batch = sample.size(0);
    io::save_safetensors(o->output, {{"prev_sample", out.prev_sample.contiguous()},
                                     {"prev_sample_mean", out.prev_sample_mean.contiguous()},
                                     {"std_dev_t", out.std_dev_t.flatten().expand({batch}).contiguous()},
                                     {"log_prob", out.log_prob.contiguous()}});
    return 0;
  };
}

}  // namespace flowgrpo::tool
