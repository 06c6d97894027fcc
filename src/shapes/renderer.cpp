#include "flowgrpo/shapes/renderer.h"

#include "flowgrpo/shapes/geometry.h"
#include "shapes/random.h"
#include "shapes/raster.h"

#include <ATen/Parallel.h>

#include <cstring>
#include <stdexcept>

namespace flowgrpo::shapes {

namespace {

// Placement search budget: tries per object before the partial layout is abandoned, and
// restarts of the whole layout before giving up. Four 10-px shapes at 32 px succeed about
// 40% of the time per restart, a position pair about 10% per try.
constexpr int kTriesPerObject = 64;
constexpr int kMaxRestarts = 4000;

// The margins the renderer keeps around GenEval's 0.5 cut (renderer.h).
constexpr double kMinAlong = 0.7;
constexpr double kMaxAcross = 0.3;

Box box_of(const PlacedObject& o) {
  return {static_cast<double>(o.x), static_cast<double>(o.y), static_cast<double>(o.x + o.size),
          static_cast<double>(o.y + o.size)};
}

// Boxes at least `gap` pixels apart on some axis.
bool separated(const PlacedObject& a, const PlacedObject& b, int64_t gap) {
  return a.x + a.size + gap <= b.x || b.x + b.size + gap <= a.x || a.y + a.size + gap <= b.y ||
         b.y + b.size + gap <= a.y;
}

// `a` (subject) clearly `relation` `b` (reference): GenEval's rule with margins, and the
// boxes apart along the relation's axis.
bool clearly(Relation relation, const PlacedObject& a, const PlacedObject& b, int64_t gap) {
  bool apart = false;
  switch (relation) {
    case Relation::kLeftOf: apart = a.x + a.size + gap <= b.x; break;
    case Relation::kRightOf: apart = b.x + b.size + gap <= a.x; break;
    case Relation::kAbove: apart = a.y + a.size + gap <= b.y; break;
    case Relation::kBelow: apart = b.y + b.size + gap <= a.y; break;
  }
  if (!apart) return false;
  const RelationOffset o = relation_offset(box_of(a), box_of(b));
  return !o.none && along(relation, o) >= kMinAlong && across(relation, o) <= kMaxAcross;
}

}  // namespace

uint64_t derive_seed(uint64_t base, uint64_t index) {
  return detail::mix64(base ^ detail::mix64(index));
}

RenderOptions RenderOptions::resolved() const {
  RenderOptions r = *this;
  if (r.image_size < 16 || r.image_size > 64)
    throw std::invalid_argument("render options: image_size must be 16..64, got " +
                                std::to_string(r.image_size));
  if (r.shape_size == 0) r.shape_size = (r.image_size * 10 + 16) / 32;
  if (r.gap == 0) r.gap = std::max<int64_t>(2, r.image_size / 16);
  if (r.border == 0) r.border = std::max<int64_t>(1, r.image_size / 32);
  if (r.shape_size < 5)
    throw std::invalid_argument("render options: shape_size must be >= 5 px to tell shapes apart, got " +
                                std::to_string(r.shape_size));
  if (r.gap < 1 || r.border < 0)
    throw std::invalid_argument("render options: gap must be >= 1 and border >= 0, got gap " +
                                std::to_string(r.gap) + ", border " + std::to_string(r.border));
  if (2 * r.shape_size + r.gap + 2 * r.border > r.image_size)
    throw std::invalid_argument("render options: four " + std::to_string(r.shape_size) +
                                "-px shapes with gap " + std::to_string(r.gap) + " and border " +
                                std::to_string(r.border) + " do not fit a " + std::to_string(r.image_size) +
                                "-px image");
  return r;
}

Renderer::Renderer(RenderOptions options) : options_(options.resolved()) {
  const int64_t s = options_.shape_size;
  for (Shape shape : all_shapes()) {
    auto& m = masks_[static_cast<size_t>(shape)];
    m.resize(static_cast<size_t>(s * s));
    for (int64_t i = 0; i < s; ++i)
      for (int64_t j = 0; j < s; ++j)
        m[static_cast<size_t>(i * s + j)] = detail::in_shape(shape, i, j, s, s) ? 1 : 0;
  }
}

Scene Renderer::layout(const PromptSpec& spec, uint64_t seed) const {
  Scene scene;
  layout_into(spec, seed, scene);
  return scene;
}

void Renderer::layout_into(const PromptSpec& spec, uint64_t seed, Scene& scene) const {
  int64_t total = 0;
  for (const auto& c : spec.include) total += c.count;
  if (total > kMaxObjects)
    throw std::invalid_argument("cannot render " + std::to_string(total) + " objects (at most " +
                                std::to_string(kMaxObjects) + ")");
  for (const auto& ex : spec.exclude) {
    int64_t n = 0;
    for (const auto& c : spec.include) n += c.shape == ex.shape ? c.count : 0;
    if (n >= ex.count)
      throw std::invalid_argument("metadata contradicts itself: it asks for " + std::to_string(n) + " " +
                                  to_string(ex.shape) + "(s) and for fewer than " + std::to_string(ex.count));
  }
  for (size_t k = 0; k < spec.include.size(); ++k)
    if (const auto& p = spec.include[k].position; p && (p->target < 0 || static_cast<size_t>(p->target) >= k))
      throw std::invalid_argument("include[" + std::to_string(k) + "].position must name an earlier clause");

  detail::Random rng(seed);
  const int64_t s = options_.shape_size;
  const int64_t lo = options_.border, hi = options_.image_size - options_.border - s;
  auto& objects = scene.objects;
  objects.clear();
  for (size_t k = 0; k < spec.include.size(); ++k) {
    const auto& c = spec.include[k];
    for (int n = 0; n < c.count; ++n) {
      PlacedObject o;
      o.shape = c.shape;
      o.color = c.color ? *c.color : all_colors()[rng.below(kNumColors)];
      o.size = s;
      o.clause = static_cast<int>(k);
      objects.push_back(o);
    }
  }
  for (int restart = 0; restart < kMaxRestarts; ++restart) {
    bool ok = true;
    for (size_t i = 0; i < objects.size() && ok; ++i) {
      PlacedObject& o = objects[i];
      const auto& position = spec.include[static_cast<size_t>(o.clause)].position;
      ok = false;
      for (int t = 0; t < kTriesPerObject && !ok; ++t) {
        o.x = rng.range(lo, hi);
        o.y = rng.range(lo, hi);
        ok = true;
        for (size_t j = 0; j < i && ok; ++j) {
          ok = separated(o, objects[j], options_.gap);
          if (ok && position && objects[j].clause == position->target)
            ok = clearly(position->relation, o, objects[j], options_.gap);
        }
      }
    }
    if (ok) return;
  }
  throw std::runtime_error("no layout found for '" +
                           (spec.matches_template() ? spec.prompt() : to_string(spec.tag)) + "' with seed " +
                           std::to_string(seed));
}

torch::Tensor Renderer::draw(const Scene& scene) const {
  for (const auto& o : scene.objects)
    if (o.size != options_.shape_size || o.x < 0 || o.y < 0 || o.x + o.size > options_.image_size ||
        o.y + o.size > options_.image_size)
      throw std::invalid_argument("scene object at (" + std::to_string(o.x) + ", " + std::to_string(o.y) +
                                  ") of size " + std::to_string(o.size) + " does not fit the renderer's " +
                                  std::to_string(options_.image_size) + "-px image with " +
                                  std::to_string(options_.shape_size) + "-px shapes");
  auto image = torch::empty({3, options_.image_size, options_.image_size}, torch::kByte);
  draw_into(scene, image.data_ptr<uint8_t>());
  return image;
}

void Renderer::draw_into(const Scene& scene, uint8_t* chw) const {
  const int64_t n = options_.image_size, plane = n * n, s = options_.shape_size;
  std::memset(chw, kBackground.r, static_cast<size_t>(plane));
  std::memset(chw + plane, kBackground.g, static_cast<size_t>(plane));
  std::memset(chw + 2 * plane, kBackground.b, static_cast<size_t>(plane));
  for (const auto& o : scene.objects) {
    const Rgb c = rgb(o.color);
    const uint8_t* m = masks_[static_cast<size_t>(o.shape)].data();
    for (int64_t i = 0; i < s; ++i) {
      uint8_t* row = chw + (o.y + i) * n + o.x;
      for (int64_t j = 0; j < s; ++j)
        if (m[i * s + j]) {
          row[j] = c.r;
          row[j + plane] = c.g;
          row[j + 2 * plane] = c.b;
        }
    }
  }
}

torch::Tensor Renderer::render(const PromptSpec& spec, uint64_t seed) const {
  return draw(layout(spec, seed));
}

torch::Tensor Renderer::render(const nlohmann::json& metadata, uint64_t seed) const {
  return render(PromptSpec::from_metadata(metadata, /*require_template=*/false), seed);
}

torch::Tensor Renderer::render_batch(const std::vector<PromptSpec>& specs,
                                     const std::vector<uint64_t>& seeds) const {
  if (specs.size() != seeds.size())
    throw std::invalid_argument("render_batch: " + std::to_string(specs.size()) + " specs but " +
                                std::to_string(seeds.size()) + " seeds");
  const auto n = static_cast<int64_t>(specs.size());
  const int64_t size = options_.image_size, stride = 3 * size * size;
  auto images = torch::empty({n, 3, size, size}, torch::kByte);
  uint8_t* out = images.data_ptr<uint8_t>();
  at::parallel_for(0, n, 64, [&](int64_t begin, int64_t end) {
    Scene scene;
    for (int64_t i = begin; i < end; ++i) {
      layout_into(specs[static_cast<size_t>(i)], seeds[static_cast<size_t>(i)], scene);
      draw_into(scene, out + i * stride);
    }
  });
  return images;
}

torch::Tensor Renderer::render_batch(const std::vector<PromptSpec>& specs, uint64_t base_seed) const {
  std::vector<uint64_t> seeds(specs.size());
  for (size_t i = 0; i < seeds.size(); ++i) seeds[i] = derive_seed(base_seed, i);
  return render_batch(specs, seeds);
}

}  // namespace flowgrpo::shapes
