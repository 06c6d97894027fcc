#include "flowgrpo/rl/ema.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <stdexcept>
#include <vector>

namespace rl = flowgrpo::rl;

namespace {

std::vector<torch::Tensor> make_params() {
  return {torch::full({2, 3}, 1.0, torch::kDouble).requires_grad_(true),
          torch::full({4}, -2.0, torch::kDouble).requires_grad_(true)};
}

void set_all(std::vector<torch::Tensor>& params, double value) {
  torch::NoGradGuard g;
  for (auto& p : params) p.fill_(value);
}

}  // namespace

TEST(Ema, DecayScheduleByHand) {
  // min((1 + s) / (10 + s), 0.9)
  EXPECT_DOUBLE_EQ(rl::Ema::decay_at(0, 0.9), 0.1);
  EXPECT_DOUBLE_EQ(rl::Ema::decay_at(1, 0.9), 2.0 / 11.0);
  EXPECT_DOUBLE_EQ(rl::Ema::decay_at(7, 0.9), 8.0 / 17.0);
  EXPECT_DOUBLE_EQ(rl::Ema::decay_at(15, 0.9), 16.0 / 25.0);
  EXPECT_DOUBLE_EQ(rl::Ema::decay_at(79, 0.9), 80.0 / 89.0);  // 0.8989 < 0.9
  EXPECT_DOUBLE_EQ(rl::Ema::decay_at(81, 0.9), 0.9);          // 82/91 = 0.9011 capped
  EXPECT_DOUBLE_EQ(rl::Ema::decay_at(100000, 0.9), 0.9);
  EXPECT_DOUBLE_EQ(rl::Ema::decay_at(100, 0.999), 101.0 / 110.0);  // below a higher cap
}

TEST(Ema, UpdatesOnlyWhenStepPlusOneIsAMultipleOfTheInterval) {
  auto params = make_params();
  rl::Ema ema(params);  // max_decay 0.9, every 8
  std::vector<int64_t> updated;
  for (int64_t s = 0; s < 32; ++s)
    if (ema.step(params, s)) updated.push_back(s);
  EXPECT_EQ(updated, (std::vector<int64_t>{7, 15, 23, 31}));
  EXPECT_EQ(ema.num_updates(), 4);
  EXPECT_EQ(ema.last_update_step(), 31);
  EXPECT_FALSE(ema.updates_at(8));
  EXPECT_TRUE(ema.updates_at(39));
}

TEST(Ema, UpdateValuesByHand) {
  auto params = make_params();
  rl::Ema ema(params);
  set_all(params, 3.0);
  // s = 7: decay 8/17, ema = 1 + (9/17)·(3 − 1) for the first tensor, −2 + (9/17)·5 for the second.
  ASSERT_TRUE(ema.step(params, 7));
  EXPECT_NEAR(ema.shadow()[0][0][0].item<double>(), 1.0 + 18.0 / 17.0, 1e-15);
  EXPECT_NEAR(ema.shadow()[1][0].item<double>(), -2.0 + 45.0 / 17.0, 1e-15);
  // The reference calls step once per micro-batch, so a qualifying step updates again.
  const double before = ema.shadow()[0][0][0].item<double>();
  ASSERT_TRUE(ema.step(params, 7));
  EXPECT_NEAR(ema.shadow()[0][0][0].item<double>(), before + (9.0 / 17.0) * (3.0 - before), 1e-15);
  // A non-qualifying step changes nothing.
  const auto snapshot = ema.shadow()[0].clone();
  EXPECT_FALSE(ema.step(params, 8));
  EXPECT_TRUE(torch::equal(ema.shadow()[0], snapshot));
  // The parameters themselves are untouched.
  EXPECT_TRUE(torch::equal(params[0], torch::full({2, 3}, 3.0, torch::kDouble)));
}

TEST(Ema, SkipsParametersWithoutGrad) {
  auto params = make_params();
  params[1].requires_grad_(false);
  rl::Ema ema(params, {0.9, 1, std::nullopt});
  set_all(params, 5.0);
  ema.step(params, 0);  // decay 0.1
  EXPECT_NEAR(ema.shadow()[0][0][0].item<double>(), 1.0 + 0.9 * 4.0, 1e-15);
  EXPECT_EQ(ema.shadow()[1][0].item<double>(), -2.0);
}

TEST(Ema, SwapInAndOutRestoresExactly) {
  torch::manual_seed(0);
  std::vector<torch::Tensor> params = {torch::randn({5, 7}).requires_grad_(true),
                                       torch::randn({3}).requires_grad_(true)};
  rl::Ema ema(params, {0.9, 1, std::nullopt});
  {
    torch::NoGradGuard g;
    for (auto& p : params) p.add_(torch::randn_like(p));
  }
  ema.step(params, 100);
  const std::vector<torch::Tensor> trained = {params[0].detach().clone(), params[1].detach().clone()};
  {
    rl::Ema::SwapScope scope(ema, params);
    EXPECT_TRUE(ema.has_stored());
    EXPECT_TRUE(torch::equal(params[0], ema.shadow()[0]));
    EXPECT_TRUE(torch::equal(params[1], ema.shadow()[1]));
    EXPECT_FALSE(torch::equal(params[0], trained[0]));
  }
  EXPECT_FALSE(ema.has_stored());
  EXPECT_TRUE(torch::equal(params[0], trained[0]));
  EXPECT_TRUE(torch::equal(params[1], trained[1]));
  EXPECT_TRUE(params[0].requires_grad());
  // Explicit store / copy_to / restore.
  ema.store(params);
  EXPECT_THROW(ema.store(params), std::logic_error);
  ema.copy_to(params);
  EXPECT_TRUE(torch::equal(params[0], ema.shadow()[0]));
  ema.restore(params);
  EXPECT_TRUE(torch::equal(params[0], trained[0]));
  EXPECT_THROW(ema.restore(params), std::logic_error);
}

TEST(Ema, StateRoundTrip) {
  auto params = make_params();
  rl::Ema ema(params);
  set_all(params, 4.0);
  ema.step(params, 7);
  const auto state = ema.state();
  EXPECT_EQ(state.num_updates, 1);
  EXPECT_EQ(state.last_update_step, 7);
  auto fresh_params = make_params();
  rl::Ema restored(fresh_params);
  restored.load_state(state);
  EXPECT_TRUE(torch::equal(restored.shadow()[0], ema.shadow()[0]));
  EXPECT_TRUE(torch::equal(restored.shadow()[1], ema.shadow()[1]));
  EXPECT_EQ(restored.num_updates(), 1);
  EXPECT_EQ(restored.last_update_step(), 7);
  // state() is a copy.
  ema.step(params, 15);
  EXPECT_FALSE(torch::equal(state.shadow[0], ema.shadow()[0]));
}

TEST(Ema, RejectsMismatchedParametersAndOptions) {
  auto params = make_params();
  rl::Ema ema(params);
  EXPECT_THROW(ema.step({params[0]}, 7), std::invalid_argument);
  EXPECT_THROW(ema.step({params[0], torch::zeros({5}, torch::kDouble)}, 7), std::invalid_argument);
  EXPECT_THROW(ema.copy_to({params[0], params[1].to(torch::kFloat)}), std::invalid_argument);
  rl::EmaState bad;
  bad.shadow = {params[0].detach()};
  EXPECT_THROW(ema.load_state(bad), std::invalid_argument);
  EXPECT_THROW(rl::Ema(params, {1.0, 8, std::nullopt}), std::invalid_argument);
  EXPECT_THROW(rl::Ema(params, {0.9, 0, std::nullopt}), std::invalid_argument);
  EXPECT_THROW(rl::Ema({torch::Tensor()}), std::invalid_argument);
}
