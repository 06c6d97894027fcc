// flow_grpo's sde_step_with_logprob (commit ac4c86e for `sde`, 54809b5 for `cps`),
// recorded on PyTorch 1.13 CPU in ../shared/fixtures/sde_steps.*: first, middle and
// last steps of the 10- and 40-step SD3 grids, one timestep for the batch ("pipe",
// as in rollouts) and one per sample ("batch", as in training), drawing x' from a
// given ε ("gen") and scoring a given x' ("known"). Tolerance 1e-5 absolute on
// every output (the bar); the achieved error is printed.
#include "flowgrpo/io/safetensors.h"
#include "flowgrpo/sampling/flow_step.h"
#include "flowgrpo/sampling/schedule.h"

#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>

namespace fs = flowgrpo::sampling;
using flowgrpo::testing::all_close;
using flowgrpo::testing::data_path;

namespace {

constexpr double kTol = 1e-5;

struct Case {
  std::string key;
  int num_steps;
  fs::SdeType type;
};

std::vector<Case> cases() {
  std::ifstream in(data_path("sampling/sde_steps.json"));
  const auto j = nlohmann::json::parse(in);
  std::vector<Case> out;
  for (const auto& c : j["cases"])
    out.push_back({c["key"].get<std::string>(), c["num_inference_steps"].get<int>(),
                   fs::parse_sde_type(c["sde_type"].get<std::string>())});
  return out;
}

const flowgrpo::io::SafetensorsFile& fixture() {
  static const auto f = flowgrpo::io::SafetensorsFile::open(data_path("sampling/sde_steps.safetensors"));
  return f;
}

// The reference finds each sample's step by exact timestep equality (index_for_timestep).
torch::Tensor step_indices(const fs::Schedule& s, const torch::Tensor& timestep) {
  std::vector<int64_t> idx;
  for (int64_t b = 0; b < timestep.numel(); ++b) {
    const auto hits = (s.timesteps == timestep[b]).nonzero();
    EXPECT_EQ(hits.size(0), 1) << "timestep " << timestep[b].item<float>() << " not on the schedule";
    idx.push_back(hits.numel() ? hits[0][0].item<int64_t>() : 0);
  }
  return torch::tensor(idx, torch::kLong);
}

}  // namespace

class FlowStepFixture : public ::testing::TestWithParam<Case> {};

TEST_P(FlowStepFixture, MatchesFlowGrpo) {
  const auto& c = GetParam();
  const auto& f = fixture();
  auto get = [&](const std::string& name) { return f.load(c.key + "." + name); };
  const auto schedule = fs::sd3_schedule(c.num_steps);
  const auto idx = step_indices(schedule, get("timestep"));
  const auto sigma = schedule.sigmas.index_select(0, idx);
  const auto sigma_next = schedule.sigmas.index_select(0, idx + 1);
  const double noise_level = 0.7;

  double worst = 0.0;
  auto expect_close = [&](const torch::Tensor& ours, const torch::Tensor& ref, const std::string& what) {
    // The reference's std_dev_t is [1,1,1,1] for a shared timestep; ours broadcasts the same value.
    const auto a = ours.expand_as(ref.numel() >= ours.numel() ? ref : ours);
    const auto b = ref.expand_as(a);
    EXPECT_TRUE(all_close(a, b, kTol)) << c.key << " " << what;
    worst = std::max(worst, flowgrpo::testing::max_abs_diff(a, b));
  };

  const auto gen = fs::flow_step(c.type, get("model_output"), get("sample"), sigma, sigma_next,
                                 schedule.sigma_max(), noise_level, get("gen.variance_noise"));
  expect_close(gen.prev_sample, get("gen.prev_sample"), "gen.prev_sample");
  expect_close(gen.prev_sample_mean, get("gen.prev_sample_mean"), "gen.prev_sample_mean");
  expect_close(gen.std_dev_t, get("gen.std_dev_t"), "gen.std_dev_t");
  expect_close(gen.log_prob, get("gen.log_prob"), "gen.log_prob");

  const auto known =
      fs::flow_step(c.type, get("model_output"), get("sample"), sigma, sigma_next, schedule.sigma_max(),
                    noise_level, /*noise=*/{}, get("known.prev_sample_in"));
  expect_close(known.prev_sample, get("known.prev_sample_in"), "known.prev_sample");
  expect_close(known.prev_sample_mean, get("known.prev_sample_mean"), "known.prev_sample_mean");
  expect_close(known.std_dev_t, get("known.std_dev_t"), "known.std_dev_t");
  expect_close(known.log_prob, get("known.log_prob"), "known.log_prob");
  std::printf("  %-20s max |ours - flow_grpo| = %.3g\n", c.key.c_str(), worst);
}

INSTANTIATE_TEST_SUITE_P(AllRecordedCases, FlowStepFixture, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string name = info.param.key;
                           for (auto& ch : name)
                             if (ch == '.') ch = '_';
                           return name;
                         });

TEST(FlowStep, RejectsInconsistentInputs) {
  const auto x = torch::zeros({2, 3, 4});
  const auto s = torch::tensor({0.5f});
  const auto sn = torch::tensor({0.4f});
  EXPECT_THROW(fs::flow_step(fs::SdeType::kSde, torch::zeros({2, 3, 5}), x, s, sn, 0.9, 0.7, x),
               std::invalid_argument);
  EXPECT_THROW(fs::flow_step(fs::SdeType::kSde, x, x, s, sn, 0.9, 0.7, {}, {}), std::invalid_argument);
  EXPECT_THROW(fs::flow_step(fs::SdeType::kSde, x, x, torch::ones({3}), sn, 0.9, 0.7, x),
               std::invalid_argument);
  EXPECT_THROW(fs::parse_sde_type("ode"), std::invalid_argument);
}

TEST(FlowStep, LogProbIsTheGaussianDensityOfTheTransition) {
  // Independent check of the formula: the mean over elements of log N(x'; μ, (std·√−dt)²)
  // computed here in float64 from the step's own μ and std.
  torch::manual_seed(0);
  const auto v = torch::randn({3, 2, 4, 4});
  const auto x = torch::randn({3, 2, 4, 4});
  const auto eps = torch::randn({3, 2, 4, 4});
  const auto s = fs::sd3_schedule(10);
  const auto out = fs::flow_step(fs::SdeType::kSde, v, x, s.sigmas[3], s.sigmas[4], s.sigma_max(), 0.8, eps);
  const double dt = s.sigma_values()[4] - s.sigma_values()[3];
  const auto scale = out.std_dev_t.to(torch::kDouble) * std::sqrt(-dt);
  const auto z = (out.prev_sample.to(torch::kDouble) - out.prev_sample_mean.to(torch::kDouble)) / scale;
  const auto logp = (-0.5 * z * z - torch::log(scale) - 0.5 * std::log(2 * M_PI)).mean({1, 2, 3});
  EXPECT_TRUE(all_close(out.log_prob, logp, 1e-5));
}
