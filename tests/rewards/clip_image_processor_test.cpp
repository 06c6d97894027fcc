// CLIPImageProcessor's image steps against Pillow + numpy (the reference's
// processor runs on PIL images): tests/data/reward_models/tiny_reward_models.py.
#include "flowgrpo/rewards/clip_image_processor.h"

#include "support/test_support.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <fstream>

namespace fr = flowgrpo::rewards;
namespace ft = flowgrpo::testing;

namespace {

torch::Tensor random_images(int64_t n, int64_t c, int64_t h, int64_t w, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  // Smooth content plus noise: both the kernel's tails and rounding matter.
  auto base = torch::randint(0, 256, {n, c, h, w}, gen, torch::kLong).to(torch::kFloat);
  auto ramp = torch::linspace(0, 255, w).view({1, 1, 1, w});
  return ((base * 0.5 + ramp * 0.5).round().clamp(0, 255)).to(torch::kByte);
}

}  // namespace

TEST(ClipImageProcessor, ResizeSizeFollowsShortestEdge) {
  EXPECT_EQ(fr::clip_resize_size(512, 512, 224), (std::array<int64_t, 2>{224, 224}));
  EXPECT_EQ(fr::clip_resize_size(32, 48, 224), (std::array<int64_t, 2>{224, 336}));
  EXPECT_EQ(fr::clip_resize_size(40, 17, 224), (std::array<int64_t, 2>{527, 224}));  // int(224*40/17) = 527
  EXPECT_EQ(fr::clip_resize_size(17, 17, 224), (std::array<int64_t, 2>{224, 224}));
  EXPECT_THROW(fr::clip_resize_size(0, 17, 224), std::invalid_argument);
}

TEST(ClipImageProcessor, BicubicResizeEqualsPillowExactly) {
  FLOWGRPO_REQUIRE_PYTHON("PIL numpy");
  ft::TempDir dir;
  struct Case {
    int64_t h, w, oh, ow;
  };
  // Upsampling (the 32x32 ShapesEval images to 224), downsampling with antialias
  // (SD3's 512 to 224), non-square, one axis unchanged, odd sizes.
  const std::vector<Case> cases{{32, 32, 224, 224}, {300, 200, 224, 149}, {17, 40, 224, 527},
                                {64, 48, 64, 20},   {5, 7, 13, 3},        {224, 224, 224, 224}};
  for (const auto& c : cases) {
    const auto images = random_images(2, 3, c.h, c.w, static_cast<uint64_t>(c.h * 1000 + c.w));
    ft::write_raw(dir / "in.bin", images);
    const auto r =
        ft::run_command(ft::tiny_reward_models_helper() + " resize " + (dir / "in.bin").string() + " " +
                        (dir / "out.bin").string() + " 2 3 " + std::to_string(c.h) + " " +
                        std::to_string(c.w) + " " + std::to_string(c.oh) + " " + std::to_string(c.ow));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto expected = ft::read_raw(dir / "out.bin", {2, 3, c.oh, c.ow}, torch::kByte);
    const auto actual = fr::pil_bicubic_resize(images, c.oh, c.ow);
    EXPECT_EQ(ft::max_abs_diff(actual, expected), 0.0) << c.h << "x" << c.w << " -> " << c.oh << "x" << c.ow;
  }
}

TEST(ClipImageProcessor, PreprocessMatchesTheProcessorTo1e5) {
  FLOWGRPO_REQUIRE_PYTHON("PIL numpy");
  ft::TempDir dir;
  struct Case {
    int64_t h, w, shortest, crop_h, crop_w;
  };
  // The standard 224 processor on square and non-square inputs, a crop larger than
  // the resized image (zero padding), and a non-square crop.
  const std::vector<Case> cases{
      {32, 32, 224, 224, 224}, {48, 64, 224, 224, 224}, {96, 40, 30, 36, 32}, {20, 20, 16, 24, 10}};
  for (const auto& c : cases) {
    const auto images = random_images(3, 3, c.h, c.w, static_cast<uint64_t>(c.h + c.w));
    ft::write_raw(dir / "in.bin", images);
    const auto r = ft::run_command(
        ft::tiny_reward_models_helper() + " preprocess " + (dir / "in.bin").string() + " " +
        (dir / "out.bin").string() + " 3 " + std::to_string(c.h) + " " + std::to_string(c.w) + " " +
        std::to_string(c.shortest) + " " + std::to_string(c.crop_h) + " " + std::to_string(c.crop_w));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    fr::ClipImageOptions o;
    o.shortest_edge = c.shortest;
    o.crop_height = c.crop_h;
    o.crop_width = c.crop_w;
    const auto expected = ft::read_raw(dir / "out.bin", {3, 3, c.crop_h, c.crop_w}, torch::kFloat);
    const auto actual = fr::clip_preprocess(images, o);
    EXPECT_TRUE(ft::all_close(actual, expected, 1e-5)) << c.h << "x" << c.w;
  }
}

TEST(ClipImageProcessor, RejectsBadInput) {
  EXPECT_THROW(fr::clip_preprocess(torch::zeros({1, 3, 8, 8})), std::invalid_argument);  // float
  EXPECT_THROW(fr::clip_preprocess(torch::zeros({1, 4, 8, 8}, torch::kByte)), std::invalid_argument);  // RGBA
  EXPECT_THROW(fr::pil_bicubic_resize(torch::zeros({3, 8, 8}, torch::kByte), 0, 4), std::invalid_argument);
  fr::ClipImageOptions o;
  o.crop_width = 0;
  EXPECT_THROW(fr::clip_preprocess(torch::zeros({1, 3, 8, 8}, torch::kByte), o), std::invalid_argument);
}
