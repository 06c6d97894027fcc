#include "flowgrpo/io/image_png.h"

#include "support/test_support.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace fio = flowgrpo::io;
using flowgrpo::testing::TempDir;

namespace {

std::string bytes_of(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST(ImagePng, RoundTripsExactly) {
  TempDir dir;
  const auto image = torch::randint(0, 256, {3, 17, 29}, torch::kByte);
  fio::write_png(dir / "a.png", image);
  const auto back = fio::read_png(dir / "a.png");
  EXPECT_EQ(back.sizes(), image.sizes());
  EXPECT_EQ(back.scalar_type(), torch::kByte);
  EXPECT_TRUE(torch::equal(back, image));
  EXPECT_EQ(bytes_of(dir / "a.png").substr(1, 3), "PNG");
  EXPECT_FALSE(std::filesystem::exists(dir / "a.png.tmp"));
  // Deterministic bytes.
  fio::write_png(dir / "b.png", image);
  EXPECT_EQ(bytes_of(dir / "a.png"), bytes_of(dir / "b.png"));
  // Float input in [0,1] maps by round(x·255).
  fio::write_png(dir / "f.png", image.to(torch::kFloat) / 255.0);
  EXPECT_TRUE(torch::equal(fio::read_png(dir / "f.png"), image));
}

TEST(ImagePng, Grid) {
  const auto images =
      torch::stack({torch::full({3, 2, 3}, 10, torch::kByte), torch::full({3, 2, 3}, 20, torch::kByte),
                    torch::full({3, 2, 3}, 30, torch::kByte)});
  const auto grid = fio::make_grid(images, 2, 255);
  ASSERT_EQ(grid.sizes(),
            (std::vector<int64_t>{3, 5, 7}));  // 2 rows of 2 + separator, 2 cols of 3 + separator
  EXPECT_EQ(grid[0][0][0].item<uint8_t>(), 10);
  EXPECT_EQ(grid[0][0][3].item<uint8_t>(), 255);  // vertical separator
  EXPECT_EQ(grid[0][0][4].item<uint8_t>(), 20);
  EXPECT_EQ(grid[0][2][0].item<uint8_t>(), 255);  // horizontal separator
  EXPECT_EQ(grid[1][3][2].item<uint8_t>(), 30);
  EXPECT_EQ(grid[2][4][6].item<uint8_t>(), 255);                               // unused cell
  EXPECT_EQ(fio::make_grid(images).sizes(), (std::vector<int64_t>{3, 5, 7}));  // auto: ceil(sqrt(3)) = 2 cols
  EXPECT_EQ(fio::make_grid(images, 5).sizes(), (std::vector<int64_t>{3, 2, 11}));
  TempDir dir;
  fio::write_png_grid(dir / "g.png", images, 3);
  EXPECT_EQ(fio::read_png(dir / "g.png").sizes(), (std::vector<int64_t>{3, 2, 11}));
}

TEST(ImagePng, Errors) {
  TempDir dir;
  EXPECT_THROW(fio::write_png(dir / "x.png", torch::zeros({4, 4}, torch::kByte)), std::invalid_argument);
  EXPECT_THROW(fio::write_png(dir / "x.png", torch::zeros({3, 4, 4}, torch::kInt)), std::invalid_argument);
  EXPECT_THROW(fio::write_png(dir / "no" / "such" / "x.png", torch::zeros({3, 4, 4}, torch::kByte)),
               std::runtime_error);
  EXPECT_THROW(fio::read_png(dir / "missing.png"), std::invalid_argument);
  flowgrpo::testing::write_text_file(dir / "fake.png", "not a png");
  try {
    fio::read_png(dir / "fake.png");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("fake.png"), std::string::npos);
  }
  EXPECT_THROW(fio::make_grid(torch::zeros({0, 3, 2, 2}, torch::kByte)), std::invalid_argument);
  EXPECT_THROW(fio::make_grid(torch::zeros({1, 3, 2, 2}, torch::kByte), -1), std::invalid_argument);
}
