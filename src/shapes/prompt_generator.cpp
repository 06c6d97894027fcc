#include "flowgrpo/shapes/prompt_generator.h"
#include "flowgrpo/io/text_file.h"

#include "flowgrpo/data/prompt_dataset.h"
#include "shapes/random.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <set>
#include <stdexcept>
#include <tuple>

namespace fs = std::filesystem;

namespace flowgrpo::shapes {

namespace {

constexpr int kHeldOutColorAttrScenes = 12;
constexpr int kSeenColorAttrTest = 24;

// Train lines per tag (GenEval order), 100 per unit of weight 1:1:5:1:7:3.
constexpr std::array<int, kNumTags> kTrainLines = {100, 100, 500, 100, 700, 300};
constexpr int total_train_lines() {
  int sum = 0;
  for (int n : kTrainLines) sum += n;
  return sum;
}
static_assert(total_train_lines() == kTrainSize, "kTrainLines must add up to kTrainSize");

// A position scene: on `horizontal` axis, `first` is left of (above) `second`.
using PositionScene = std::tuple<bool, Shape, Shape>;
// A color_attr scene: two (colour, shape) bindings, the smaller first.
using Binding = std::pair<Color, Shape>;
using ColorAttrScene = std::pair<Binding, Binding>;

PositionScene position_scene(const PromptSpec& spec) {
  const Shape subject = spec.include[1].shape, reference = spec.include[0].shape;
  switch (spec.include[1].position->relation) {
    case Relation::kLeftOf: return {true, subject, reference};
    case Relation::kRightOf: return {true, reference, subject};
    case Relation::kAbove: return {false, subject, reference};
    case Relation::kBelow: return {false, reference, subject};
  }
  return {};
}

ColorAttrScene color_attr_scene(const PromptSpec& spec) {
  const Binding a{*spec.include[0].color, spec.include[0].shape};
  const Binding b{*spec.include[1].color, spec.include[1].shape};
  return a < b ? ColorAttrScene{a, b} : ColorAttrScene{b, a};
}

struct HeldOut {
  std::set<PositionScene> position;
  std::set<ColorAttrScene> color_attr;
  bool contains(const PromptSpec& spec) const {
    if (spec.tag == Tag::kPosition) return position.count(position_scene(spec)) > 0;
    if (spec.tag == Tag::kColorAttr) return color_attr.count(color_attr_scene(spec)) > 0;
    return false;
  }
};

std::set<Shape> shape_pair(const PositionScene& s) {
  return {std::get<1>(s), std::get<2>(s)};
}

// The held-out scenes; draws from `rng` in a fixed order (the first draws of a seed).
HeldOut draw_held_out(detail::Random& rng) {
  HeldOut held;
  std::vector<PositionScene> horizontal, vertical;
  for (Shape a : all_shapes())
    for (Shape b : all_shapes())
      if (a != b) {
        horizontal.emplace_back(true, a, b);
        vertical.emplace_back(false, a, b);
      }
  rng.shuffle(horizontal);
  rng.shuffle(vertical);
  held.position.insert(horizontal.front());
  for (const auto& v : vertical)
    if (shape_pair(v) != shape_pair(horizontal.front())) {
      held.position.insert(v);
      break;
    }
  std::vector<ColorAttrScene> scenes;
  for (Color c1 : all_colors())
    for (Shape s1 : all_shapes())
      for (Color c2 : all_colors())
        for (Shape s2 : all_shapes()) {
          const Binding a{c1, s1}, b{c2, s2};
          if (c1 != c2 && s1 != s2 && a < b) scenes.emplace_back(a, b);
        }
  rng.shuffle(scenes);
  held.color_attr.insert(scenes.begin(), scenes.begin() + kHeldOutColorAttrScenes);
  return held;
}

detail::Random make_rng(uint64_t seed) {
  return detail::Random(detail::mix64(seed));
}

void write_file(const fs::path& path, const std::vector<PromptSpec>& specs) {
  std::string text;
  for (const auto& s : specs) text += data::format_geneval_record(s.to_metadata()) + "\n";
  io::write_text_atomic(path, text);
}

}  // namespace

std::vector<PromptSpec> enumerate_all_prompts() {
  std::vector<PromptSpec> out;
  for (auto tag : all_tags())
    for (auto& s : enumerate_prompts(tag)) out.push_back(std::move(s));
  return out;
}

std::vector<PromptSpec> enumerate_prompts(Tag tag) {
  std::vector<PromptSpec> out;
  switch (tag) {
    case Tag::kSingleObject:
      for (Shape s : all_shapes()) out.push_back(PromptSpec::single_object(s));
      break;
    case Tag::kTwoObject:
      for (Shape a : all_shapes())
        for (Shape b : all_shapes())
          if (a != b) out.push_back(PromptSpec::two_object(a, b));
      break;
    case Tag::kCounting:
      for (Shape s : all_shapes())
        for (int n = kMinCount; n <= kMaxCount; ++n) out.push_back(PromptSpec::counting(s, n));
      break;
    case Tag::kColors:
      for (Color c : all_colors())
        for (Shape s : all_shapes()) out.push_back(PromptSpec::colors(c, s));
      break;
    case Tag::kPosition:
      for (Shape a : all_shapes())
        for (Relation r : all_relations())
          for (Shape b : all_shapes())
            if (a != b) out.push_back(PromptSpec::position(a, r, b));
      break;
    case Tag::kColorAttr:
      for (Shape s1 : all_shapes())
        for (Shape s2 : all_shapes())
          for (Color c1 : all_colors())
            for (Color c2 : all_colors())
              if (s1 != s2 && c1 != c2) out.push_back(PromptSpec::color_attr(c1, s1, c2, s2));
      break;
  }
  return out;
}

bool is_held_out(const PromptSpec& spec, uint64_t seed) {
  auto rng = make_rng(seed);
  return spec.matches_template() && draw_held_out(rng).contains(spec);
}

PromptSets generate_prompt_sets(uint64_t seed) {
  auto rng = make_rng(seed);
  const HeldOut held = draw_held_out(rng);
  PromptSets sets;

  // Test: all of every tag but color_attr; color_attr = held out + a sample of the rest.
  for (Tag tag : all_tags()) {
    const auto all = enumerate_prompts(tag);
    if (tag != Tag::kColorAttr) {
      sets.test.insert(sets.test.end(), all.begin(), all.end());
      continue;
    }
    std::vector<size_t> seen;
    for (size_t i = 0; i < all.size(); ++i)
      if (!held.contains(all[i])) seen.push_back(i);
    rng.shuffle(seen);
    std::set<size_t> chosen(seen.begin(), seen.begin() + kSeenColorAttrTest);
    for (size_t i = 0; i < all.size(); ++i)
      if (held.contains(all[i]) || chosen.count(i)) sets.test.push_back(all[i]);
  }
  for (const auto& s : sets.test)
    if (held.contains(s)) sets.held_out.push_back(s);

  // Train: per tag, seeded shuffled rounds over the prompts not held out; then one shuffle.
  for (Tag tag : all_tags()) {
    std::vector<PromptSpec> pool;
    for (auto& s : enumerate_prompts(tag))
      if (!held.contains(s)) pool.push_back(std::move(s));
    const int quota = kTrainLines[static_cast<size_t>(tag)];
    int written = 0;
    while (written < quota) {
      rng.shuffle(pool);
      for (size_t i = 0; i < pool.size() && written < quota; ++i, ++written) sets.train.push_back(pool[i]);
    }
  }
  rng.shuffle(sets.train);
  return sets;
}

void write_prompt_files(const fs::path& dir, uint64_t seed) {
  const PromptSets sets = generate_prompt_sets(seed);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create " + dir.string() + ": " + ec.message());
  write_file(dir / "train_metadata.jsonl", sets.train);
  write_file(dir / "test_metadata.jsonl", sets.test);
  write_file(dir / "held_out_metadata.jsonl", sets.held_out);
}

}  // namespace flowgrpo::shapes
