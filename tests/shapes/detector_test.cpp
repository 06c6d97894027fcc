#include "flowgrpo/shapes/detector.h"
#include "flowgrpo/shapes/geneval_scoring.h"
#include "flowgrpo/shapes/prompt_generator.h"
#include "flowgrpo/shapes/renderer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace fs = flowgrpo::shapes;
using fs::Color;
using fs::PromptSpec;
using fs::Shape;

namespace {

// Detections and placed objects compared in reading order.
::testing::AssertionResult matches(const fs::Scene& scene, std::vector<fs::Detection> found) {
  auto objects = scene.objects;
  std::sort(objects.begin(), objects.end(),
            [](const auto& a, const auto& b) { return std::make_pair(a.y, a.x) < std::make_pair(b.y, b.x); });
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return std::make_pair(a.box.y0, a.box.x0) < std::make_pair(b.box.y0, b.box.x0);
  });
  if (objects.size() != found.size())
    return ::testing::AssertionFailure()
           << objects.size() << " objects drawn, " << found.size() << " detected";
  for (size_t i = 0; i < objects.size(); ++i) {
    const auto& o = objects[i];
    const auto& d = found[i];
    const fs::Box box{static_cast<double>(o.x), static_cast<double>(o.y), static_cast<double>(o.x + o.size),
                      static_cast<double>(o.y + o.size)};
    if (d.shape != o.shape || d.color != o.color || !(d.box == box) || d.confidence != 1.0)
      return ::testing::AssertionFailure()
             << "drew " << fs::to_string(o.color) << " " << fs::to_string(o.shape) << " at " << o.x << ","
             << o.y << "; detected " << fs::to_string(d);
  }
  return ::testing::AssertionSuccess();
}

// Strict accuracy of the detector on renders of every prompt, with a perturbation.
template <class Perturb>
double strict_accuracy(const fs::Renderer& r, const fs::Detector& det, int seeds, Perturb&& perturb) {
  const auto specs = fs::enumerate_all_prompts();
  int64_t ok = 0, n = 0;
  for (int seed = 0; seed < seeds; ++seed) {
    std::vector<uint64_t> s(specs.size());
    for (size_t i = 0; i < s.size(); ++i) s[i] = fs::derive_seed(777 + static_cast<uint64_t>(seed), i);
    const auto images = perturb(r.render_batch(specs, s));
    const auto found = det.detect_batch(images);
    for (size_t i = 0; i < specs.size(); ++i, ++n) ok += fs::score_geneval(specs[i], found[i]).strict;
  }
  return static_cast<double>(ok) / static_cast<double>(n);
}

}  // namespace

TEST(ShapesDetector, ExactOnThousandsOfRenders) {
  // Every prompt of every tag, many seeds, 32 px and 64 px: 243 × (10 + 3) = 3159 renders.
  int64_t renders = 0;
  for (auto [size, seeds] : {std::pair<int64_t, int>{32, 10}, {64, 3}}) {
    const fs::Renderer r(fs::RenderOptions{size});
    const fs::Detector det;
    const auto specs = fs::enumerate_all_prompts();
    for (int seed = 0; seed < seeds; ++seed) {
      std::vector<uint64_t> s(specs.size());
      for (size_t i = 0; i < s.size(); ++i)
        s[i] = fs::derive_seed(static_cast<uint64_t>(seed) * 7919 + 13, i);
      const auto images = r.render_batch(specs, s);
      const auto found = det.detect_batch(images);
      for (size_t i = 0; i < specs.size(); ++i, ++renders) {
        ASSERT_TRUE(matches(r.layout(specs[i], s[i]), found[i])) << specs[i].prompt() << " size " << size;
        const auto v = fs::score_geneval(specs[i], found[i]);
        ASSERT_TRUE(v.strict && v.correct) << specs[i].prompt() << ": " << v.strict_reason << v.reason;
        ASSERT_EQ(v.score, 1.0) << specs[i].prompt();
      }
    }
  }
  EXPECT_GE(renders, 3000);
}

TEST(ShapesDetector, FloatInputGivesTheSameObjects) {
  const fs::Renderer r;
  const fs::Detector det;
  const auto img = r.render(PromptSpec::counting(Shape::kTriangle, 4), 5);
  const auto a = det.detect(img);
  const auto b = det.detect(img.to(torch::kFloat) / 255.0);
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(b.size(), a.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(fs::to_string(a[i]), fs::to_string(b[i]));
  EXPECT_THROW(det.detect(torch::zeros({32, 32}, torch::kByte)), std::invalid_argument);
  EXPECT_THROW(det.detect(torch::zeros({3, 32, 32}, torch::kInt)), std::invalid_argument);
}

TEST(ShapesDetector, IgnoresBackgroundNoiseAndMud) {
  const fs::Detector det;
  // A blank image, a muddy grey one and specks smaller than a shape find nothing.
  auto blank = torch::full({3, 32, 32}, 235, torch::kByte);
  EXPECT_TRUE(det.detect(blank).empty());
  EXPECT_TRUE(det.detect(torch::full({3, 32, 32}, 128, torch::kByte)).empty());
  auto specks = blank.clone();
  const fs::Rgb red = fs::rgb(Color::kRed);
  for (int64_t k = 0; k < 6; ++k)
    for (int64_t y = 0; y < 3; ++y)
      for (int64_t x = 0; x < 3; ++x) {  // 3×3 specks (9 px < 25 px)
        specks[0][4 * k + y][5 * k % 29 + x] = red.r;
        specks[1][4 * k + y][5 * k % 29 + x] = red.g;
        specks[2][4 * k + y][5 * k % 29 + x] = red.b;
      }
  EXPECT_TRUE(det.detect(specks).empty());
  // A long bar is not a shape.
  auto bar = blank.clone();
  bar.narrow(1, 10, 5).narrow(2, 2, 26).select(0, 0).fill_(red.r);
  bar.narrow(1, 10, 5).narrow(2, 2, 26).select(0, 1).fill_(red.g);
  bar.narrow(1, 10, 5).narrow(2, 2, 26).select(0, 2).fill_(red.b);
  EXPECT_TRUE(det.detect(bar).empty());
  const auto labels = det.classify_pixels(bar);
  EXPECT_EQ(labels[12][5].item<uint8_t>(), 1 + static_cast<int>(Color::kRed));
  EXPECT_EQ(labels[0][0].item<uint8_t>(), 0);
}

TEST(ShapesDetector, EdgeBlendsSplitAtHalfCoverage) {
  // A pixel blending a colour with the background belongs to the shape from 50% coverage
  // on, whatever the colour, and never takes another colour.
  const fs::Detector det;
  for (auto c : fs::all_colors()) {
    const fs::Rgb v = fs::rgb(c);
    auto img = torch::empty({3, 1, 101}, torch::kByte);
    for (int k = 0; k <= 100; ++k) {
      const double a = k / 100.0;
      img[0][0][k] = static_cast<uint8_t>(std::lround(fs::kBackground.r + a * (v.r - fs::kBackground.r)));
      img[1][0][k] = static_cast<uint8_t>(std::lround(fs::kBackground.g + a * (v.g - fs::kBackground.g)));
      img[2][0][k] = static_cast<uint8_t>(std::lround(fs::kBackground.b + a * (v.b - fs::kBackground.b)));
    }
    const auto labels = det.classify_pixels(img);
    for (int k = 0; k <= 100; ++k) {
      if (k == 50) continue;  // rounding decides the exact midpoint
      EXPECT_EQ(labels[0][k].item<uint8_t>(), k > 50 ? 1 + static_cast<int>(c) : 0)
          << fs::to_string(c) << " at coverage " << k << "%";
    }
  }
}

TEST(ShapesDetector, RobustToNoiseAndBlur) {
  const fs::Renderer r;
  const fs::Detector det;
  auto gen = at::detail::createCPUGenerator(2026);
  std::string report;
  double at_010 = 0, at_015 = 0;
  for (double sigma : {0.05, 0.1, 0.15, 0.2}) {
    const double acc = strict_accuracy(r, det, 2, [&](const torch::Tensor& u8) {
      const auto x = u8.to(torch::kFloat) / 255.0;
      return (x + sigma * torch::randn(x.sizes(), gen)).clamp(0, 1);
    });
    char line[96];
    std::snprintf(line, sizeof line, "gaussian sigma %.2f: strict accuracy %.4f\n", sigma, acc);
    report += line;
    if (sigma == 0.1) at_010 = acc;
    if (sigma == 0.15) at_015 = acc;
  }
  // Blur: a generator's soft edges. Box 3×3, and Gaussian blurs (5×5 kernels), also
  // with noise on top.
  auto blur = [](const torch::Tensor& x, const torch::Tensor& kernel1d) {
    const int64_t k = kernel1d.size(0);
    const auto k2 = torch::outer(kernel1d, kernel1d).expand({3, 1, k, k}).contiguous();
    return torch::nn::functional::conv2d(torch::replication_pad2d(x, {k / 2, k / 2, k / 2, k / 2}), k2,
                                         torch::nn::functional::Conv2dFuncOptions().groups(3));
  };
  auto gaussian = [](double sigma) {
    auto t = torch::arange(-2, 3, torch::kFloat);
    auto w = torch::exp(-t * t / (2 * sigma * sigma));
    return w / w.sum();
  };
  struct Blur {
    const char* name;
    torch::Tensor kernel;
    double noise;
  };
  std::vector<Blur> blurs = {{"3x3 box blur", torch::full({3}, 1.0f / 3), 0.0},
                             {"gaussian blur 0.7 px", gaussian(0.7), 0.0},
                             {"gaussian blur 1.0 px", gaussian(1.0), 0.0},
                             {"gaussian blur 0.7 px + noise 0.05", gaussian(0.7), 0.05}};
  double box = 0, g07 = 0;
  for (const auto& b : blurs) {
    const double acc = strict_accuracy(r, det, 2, [&](const torch::Tensor& u8) {
      const auto x = blur(u8.to(torch::kFloat) / 255.0, b.kernel);
      return (x + b.noise * torch::randn(x.sizes(), gen)).clamp(0, 1);
    });
    char line[96];
    std::snprintf(line, sizeof line, "%s: strict accuracy %.4f\n", b.name, acc);
    report += line;
    if (std::string(b.name) == "3x3 box blur") box = acc;
    if (std::string(b.name) == "gaussian blur 0.7 px") g07 = acc;
  }
  std::printf("%s", report.c_str());
  RecordProperty("noise_report", report);
  EXPECT_GE(at_010, 0.99) << report;
  EXPECT_GE(at_015, 0.95) << report;
  EXPECT_GE(box, 0.95) << report;
  EXPECT_GE(g07, 0.95) << report;
}
