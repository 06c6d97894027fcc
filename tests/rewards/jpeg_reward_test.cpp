#include "flowgrpo/rewards/jpeg_reward.h"
#include "flowgrpo/io/image_png.h"
#include "flowgrpo/rewards/reward_registry.h"

#include "support/test_support.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <sstream>

namespace fr = flowgrpo::rewards;

namespace {

// Deterministic test images: flat, smooth gradient, noise (compressibility spans a wide range).
torch::Tensor test_images() {
  auto gen = at::detail::createCPUGenerator(11);
  const auto flat = torch::full({3, 32, 48}, 128, torch::kByte);
  const auto ramp = (torch::arange(48).view({1, 1, 48}).expand({3, 32, 48}) * 5).to(torch::kByte);
  const auto noise = torch::randint(0, 256, {3, 32, 48}, gen, torch::kLong).to(torch::kByte);
  return torch::stack({flat, ramp, noise});
}

fr::RewardBatch batch_of(const torch::Tensor& images) {
  fr::RewardBatch b;
  b.images = images;
  b.prompts.assign(static_cast<size_t>(images.size(0)), "p");
  b.metadata.assign(static_cast<size_t>(images.size(0)), nlohmann::json::object());
  return b;
}

}  // namespace

TEST(JpegReward, SizesMatchPilAtQuality95) {
  // The reference computes the size with PIL (Image.save(format="JPEG", quality=95)).
  FLOWGRPO_REQUIRE_PYTHON("PIL");
  flowgrpo::testing::TempDir dir;
  const auto images = test_images();
  std::ostringstream files;
  for (int64_t i = 0; i < images.size(0); ++i) {
    const auto path = dir / ("img" + std::to_string(i) + ".png");
    flowgrpo::io::write_png(path, images[i]);
    files << " " << path.string();
  }
  const auto r = flowgrpo::testing::run_command(
      flowgrpo::testing::python() +
      " -c \"import io,sys\nfrom PIL import Image\nfor f in sys.argv[1:]:\n b=io.BytesIO(); "
      "Image.open(f).convert('RGB').save(b, format='JPEG', quality=95); print(b.tell())\"" +
      files.str());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream sizes(r.output);
  for (int64_t i = 0; i < images.size(0); ++i) {
    size_t pil = 0;
    sizes >> pil;
    EXPECT_EQ(fr::encode_jpeg(images[i]).size(), pil) << "image " << i;
  }
}

TEST(JpegReward, ScalesAsTheReference) {
  const auto images = test_images();
  auto registry = std::make_unique<fr::RewardRegistry>();
  auto comp = registry->create("jpeg_compressibility");
  auto incomp = registry->create("jpeg_incompressibility");
  const auto a = comp->score(batch_of(images));
  const auto b = incomp->score(batch_of(images.to(torch::kFloat) / 255.0));  // float input, same bytes
  for (int64_t i = 0; i < 3; ++i) {
    const double kb = static_cast<double>(fr::encode_jpeg(images[i]).size()) / 1000.0;
    EXPECT_DOUBLE_EQ(b.scores[i].item<double>(), kb);
    EXPECT_DOUBLE_EQ(a.scores[i].item<double>(), -kb / 500.0);
    EXPECT_DOUBLE_EQ(a.components.at("size_kb")[i].item<double>(), kb);
  }
  // Noise compresses worst, a flat image best.
  EXPECT_GT(b.scores[2].item<double>(), b.scores[1].item<double>());
  EXPECT_GT(b.scores[1].item<double>(), b.scores[0].item<double>());
  EXPECT_THROW(registry->create("jpeg_compressibility", {{"quality", 90}}), std::invalid_argument);
  EXPECT_THROW(fr::encode_jpeg(torch::zeros({4, 8, 8}, torch::kByte)), std::invalid_argument);
}
