#include "flowgrpo/shapes/renderer.h"
#include "flowgrpo/shapes/geometry.h"
#include "flowgrpo/shapes/prompt_generator.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace fs = flowgrpo::shapes;
using fs::Color;
using fs::PromptSpec;
using fs::Relation;
using fs::Shape;

namespace {

fs::Box box_of(const fs::PlacedObject& o) {
  return {static_cast<double>(o.x), static_cast<double>(o.y), static_cast<double>(o.x + o.size),
          static_cast<double>(o.y + o.size)};
}

}  // namespace

TEST(ShapesRenderer, DefaultSizes) {
  const auto o32 = fs::RenderOptions{}.resolved();
  EXPECT_EQ(o32.image_size, 32);
  EXPECT_EQ(o32.shape_size, 10);
  EXPECT_EQ(o32.gap, 2);
  EXPECT_EQ(o32.border, 1);
  const auto o64 = fs::RenderOptions{64}.resolved();
  EXPECT_EQ(o64.shape_size, 20);
  EXPECT_EQ(o64.gap, 4);
  EXPECT_EQ(o64.border, 2);
  EXPECT_THROW(fs::Renderer(fs::RenderOptions{8}), std::invalid_argument);
  EXPECT_THROW(fs::Renderer(fs::RenderOptions{65}), std::invalid_argument);
  EXPECT_THROW(fs::Renderer(fs::RenderOptions{32, 15}), std::invalid_argument);  // four don't fit
  EXPECT_THROW(fs::Renderer(fs::RenderOptions{32, 4}), std::invalid_argument);   // too small to tell apart
}

TEST(ShapesRenderer, MasksFillTheirBox) {
  for (int64_t size : {16, 32, 48, 64}) {
    const fs::Renderer r(fs::RenderOptions{size});
    const int64_t s = r.options().shape_size;
    for (auto shape : fs::all_shapes()) {
      const auto& m = r.mask(shape);
      bool top = false, bottom = false, left = false, right = false;
      int64_t area = 0;
      for (int64_t i = 0; i < s; ++i)
        for (int64_t j = 0; j < s; ++j) {
          const bool on = m[static_cast<size_t>(i * s + j)];
          area += on;
          top |= on && i == 0;
          bottom |= on && i == s - 1;
          left |= on && j == 0;
          right |= on && j == s - 1;
          EXPECT_EQ(on, m[static_cast<size_t>(i * s + (s - 1 - j))]) << "not mirror-symmetric";
        }
      EXPECT_TRUE(top && bottom && left && right) << fs::to_string(shape) << " at " << s;
      const double fill = static_cast<double>(area) / static_cast<double>(s * s);
      if (size < 32) continue;  // a 5-px triangle is too coarse for its fill ratio
      const double expected = shape == Shape::kSquare ? 1.0 : shape == Shape::kCircle ? 0.785 : 0.5;
      EXPECT_NEAR(fill, expected, shape == Shape::kTriangle ? 0.12 : 0.07)
          << fs::to_string(shape) << " at " << s;
    }
  }
}

TEST(ShapesRenderer, DeterministicAndBatchMatchesSingle) {
  const fs::Renderer r;
  const auto specs = fs::enumerate_all_prompts();
  std::vector<uint64_t> seeds;
  for (size_t i = 0; i < specs.size(); ++i) seeds.push_back(1000 + i);
  const auto batch = r.render_batch(specs, seeds);
  ASSERT_EQ(batch.sizes(), (std::vector<int64_t>{static_cast<int64_t>(specs.size()), 3, 32, 32}));
  EXPECT_EQ(batch.scalar_type(), torch::kByte);
  for (size_t i = 0; i < specs.size(); i += 17)
    EXPECT_TRUE(torch::equal(batch[static_cast<int64_t>(i)], r.render(specs[i], seeds[i])));
  EXPECT_TRUE(torch::equal(r.render_batch(specs, seeds), batch));
  EXPECT_FALSE(torch::equal(r.render(specs[0], 1), r.render(specs[0], 2)));
  const auto base = r.render_batch(specs, uint64_t{42});
  EXPECT_TRUE(torch::equal(base[5], r.render(specs[5], fs::derive_seed(42, 5))));
  // A golden layout pins the platform-independent random stream.
  const auto scene = r.layout(PromptSpec::counting(Shape::kSquare, 2), 2026);
  ASSERT_EQ(scene.objects.size(), 2u);
  std::string got;
  for (const auto& o : scene.objects)
    got += fs::to_string(o.color) + "@" + std::to_string(o.x) + "," + std::to_string(o.y) + " ";
  RecordProperty("golden_layout", got);
  EXPECT_EQ(got, "cyan@16,15 red@10,1 ");
  EXPECT_THROW(r.render_batch(specs, std::vector<uint64_t>{1}), std::invalid_argument);
}

TEST(ShapesRenderer, ScenesSatisfyTheirPrompt) {
  for (int64_t size : {32, 64}) {
    const fs::Renderer r(fs::RenderOptions{size});
    const auto& o = r.options();
    for (const auto& spec : fs::enumerate_all_prompts())
      for (uint64_t seed = 0; seed < 4; ++seed) {
        const auto scene = r.layout(spec, seed);
        int expected = 0;
        for (const auto& c : spec.include) expected += c.count;
        ASSERT_EQ(static_cast<int>(scene.objects.size()), expected) << spec.prompt();
        for (size_t i = 0; i < scene.objects.size(); ++i) {
          const auto& a = scene.objects[i];
          const auto& clause = spec.include[static_cast<size_t>(a.clause)];
          EXPECT_EQ(a.shape, clause.shape);
          if (clause.color) {
            EXPECT_EQ(a.color, *clause.color);
          }
          EXPECT_GE(a.x, o.border);
          EXPECT_GE(a.y, o.border);
          EXPECT_LE(a.x + a.size + o.border, size);
          EXPECT_LE(a.y + a.size + o.border, size);
          for (size_t j = 0; j < i; ++j) {
            const auto& b = scene.objects[j];
            const bool apart = a.x + a.size + o.gap <= b.x || b.x + b.size + o.gap <= a.x ||
                               a.y + a.size + o.gap <= b.y || b.y + b.size + o.gap <= a.y;
            EXPECT_TRUE(apart) << spec.prompt() << " seed " << seed;
          }
          if (clause.position)
            for (const auto& b : scene.objects)
              if (b.clause == clause.position->target) {
                // The relation holds, alone, with margin: GenEval's 0.5 cut has >= 0.2 to spare.
                const auto off = fs::relation_offset(box_of(a), box_of(b));
                EXPECT_GE(fs::along(clause.position->relation, off), 0.7) << spec.prompt();
                EXPECT_LE(fs::across(clause.position->relation, off), 0.3) << spec.prompt();
                EXPECT_EQ(fs::relative_position(box_of(a), box_of(b)),
                          std::vector<Relation>{clause.position->relation});
              }
        }
      }
  }
}

TEST(ShapesRenderer, PixelsArePaletteOnly) {
  const fs::Renderer r;
  const auto img =
      r.render(PromptSpec::color_attr(Color::kYellow, Shape::kCircle, Color::kCyan, Shape::kTriangle), 3);
  int64_t background = 0, yellow = 0, cyan = 0;
  for (int64_t y = 0; y < 32; ++y)
    for (int64_t x = 0; x < 32; ++x) {
      const fs::Rgb p{img[0][y][x].item<uint8_t>(), img[1][y][x].item<uint8_t>(),
                      img[2][y][x].item<uint8_t>()};
      background += p == fs::kBackground;
      yellow += p == fs::rgb(Color::kYellow);
      cyan += p == fs::rgb(Color::kCyan);
    }
  EXPECT_EQ(yellow, 80);  // the 10-px circle
  EXPECT_EQ(cyan, 60);    // the 10-px triangle
  EXPECT_EQ(background + yellow + cyan, 32 * 32);
}

TEST(ShapesRenderer, RejectsWhatCannotBeDrawn) {
  const fs::Renderer r;
  PromptSpec five = PromptSpec::counting(Shape::kCircle, 4);
  five.include.push_back({Shape::kSquare, 1, {}, {}});
  EXPECT_THROW(r.layout(five, 0), std::invalid_argument);
  PromptSpec contradiction = PromptSpec::single_object(Shape::kCircle);
  contradiction.exclude.push_back({Shape::kCircle, 1});
  EXPECT_THROW(r.layout(contradiction, 0), std::invalid_argument);
  fs::Scene outside;
  outside.objects.push_back({Shape::kCircle, Color::kRed, 30, 0, 10, 0});
  EXPECT_THROW(r.draw(outside), std::invalid_argument);
  // General (non-template) metadata renders too.
  const auto md = nlohmann::json::parse(
      R"({"tag": "position", "include": [{"class": "square", "count": 2, "color": "blue"}, {"class": "circle", "count": 1, "position": ["below", 0]}]})");
  const auto scene = r.layout(PromptSpec::from_metadata(md, false), 9);
  EXPECT_EQ(scene.objects.size(), 3u);
  EXPECT_EQ(r.render(md, 9).sizes(), (std::vector<int64_t>{3, 32, 32}));
}
