#include "flowgrpo/rl/metrics.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <stdexcept>

namespace rl = flowgrpo::rl;

TEST(MetricAccumulator, AveragesDoublesAndTensors) {
  rl::MetricAccumulator m;
  m.add("loss", 1.0);
  m.add("loss", torch::tensor(2.0f));
  m.add("loss", torch::tensor({6.0}, torch::kDouble));
  m.add("clipfrac", torch::tensor(0.25));
  EXPECT_EQ(m.count("loss"), 3);
  EXPECT_DOUBLE_EQ(m.sum("loss"), 9.0);
  EXPECT_DOUBLE_EQ(m.mean("loss"), 3.0);
  EXPECT_DOUBLE_EQ(m.mean("clipfrac"), 0.25);
  EXPECT_EQ(m.count("absent"), 0);
  EXPECT_FALSE(m.contains("absent"));
  EXPECT_THROW(m.mean("absent"), std::out_of_range);
  EXPECT_EQ(m.names(), (std::vector<std::string>{"clipfrac", "loss"}));
}

TEST(MetricAccumulator, TensorsAreDetached) {
  rl::MetricAccumulator m;
  const auto x = torch::tensor(3.0, torch::requires_grad());
  m.add("x", x * 2);
  EXPECT_DOUBLE_EQ(m.mean("x"), 6.0);
}

TEST(MetricAccumulator, MergeAddsSumsAndCounts) {
  rl::MetricAccumulator a, b;
  a.add("loss", 1.0);
  a.add("loss", 3.0);
  b.add("loss", torch::tensor(8.0));
  b.add("kl_loss", 0.5);
  a.merge(b);
  EXPECT_EQ(a.count("loss"), 3);
  EXPECT_DOUBLE_EQ(a.mean("loss"), 4.0);
  EXPECT_DOUBLE_EQ(a.mean("kl_loss"), 0.5);
}

TEST(MetricAccumulator, ToJsonAndClear) {
  rl::MetricAccumulator m;
  m.add("approx_kl", 0.5);
  m.add("approx_kl", 1.5);
  m.add("policy_loss", -0.25);
  const auto j = m.to_json();
  EXPECT_DOUBLE_EQ(j.at("approx_kl").get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j.at("policy_loss").get<double>(), -0.25);
  EXPECT_EQ(j.size(), 2u);
  const auto means = m.means();
  EXPECT_DOUBLE_EQ(means.at("approx_kl"), 1.0);
  m.clear();
  EXPECT_TRUE(m.empty());
  EXPECT_TRUE(m.to_json().is_object());
  EXPECT_EQ(m.to_json().size(), 0u);
}

TEST(MetricAccumulator, RejectsBadValues) {
  rl::MetricAccumulator m;
  EXPECT_THROW(m.add("", 1.0), std::invalid_argument);
  EXPECT_THROW(m.add("x", torch::ones({2})), std::invalid_argument);
  EXPECT_THROW(m.add("x", torch::Tensor()), std::invalid_argument);
}
