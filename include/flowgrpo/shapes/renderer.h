#pragma once
/// @file renderer.h
/// Draws ShapesEval prompts: fixed-size shapes at random non-overlapping positions on the
/// plain background (vocabulary.h), deterministic from a seed on every platform
/// (std::mt19937_64 with hand-written distributions). The renders are the task's ground
/// truth: the detector (detector.h) parses every one of them exactly, and they satisfy
/// their prompt under both GenEval rules (geneval_scoring.h).
///
/// What is drawn for a spec: every include clause contributes `count` objects of its
/// shape, in its colour if it names one and otherwise in a colour drawn uniformly from
/// the palette (so counting prompts get mixed colours). A position clause's objects are
/// placed so that the relation holds with a clear margin under GenEval's rule: along the
/// relation the normalised, margin-reduced offset is >= 0.7 (GenEval needs > 0.5), across
/// it <= 0.3 (so no second relation holds), and the boxes are separated by the gap along
/// the relation's axis.

#include "flowgrpo/shapes/prompt_spec.h"
#include "flowgrpo/shapes/vocabulary.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <vector>

namespace flowgrpo::shapes {

/// At most this many objects in one render (four always fit; see RenderOptions).
inline constexpr int kMaxObjects = 4;

/// Sizes in pixels. Zero means "the default for image_size".
struct RenderOptions {
  /// Height = width, 16..64.
  int64_t image_size = 32;
  /// Side of every shape's square box; default image_size·10/32 (10 at 32, 20 at 64).
  int64_t shape_size = 0;
  /// Minimum background between two objects' boxes; default max(2, image_size/16).
  int64_t gap = 0;
  /// Minimum background between a box and the image border; default max(1, image_size/32).
  int64_t border = 0;

  /// The options with the defaults filled in. Throws std::invalid_argument for a size
  /// outside 16..64, a shape smaller than 5 px, or sizes where four shapes cannot fit in
  /// a 2×2 arrangement (2·shape_size + gap + 2·border > image_size).
  RenderOptions resolved() const;
};

/// One drawn object: its shape's box is [x, x+size) × [y, y+size) (column, row).
struct PlacedObject {
  Shape shape = Shape::kCircle;
  Color color = Color::kRed;
  int64_t x = 0;
  int64_t y = 0;
  int64_t size = 0;
  /// The include clause it was drawn for.
  int clause = 0;
};

/// The objects of one render, in clause order.
struct Scene {
  std::vector<PlacedObject> objects;
};

/// The seed of image `index` of a batch drawn from `base` (SplitMix64 of both), so a
/// batch's images are decorrelated yet reproducible from one number.
uint64_t derive_seed(uint64_t base, uint64_t index);

/// Renders specs into RGB uint8 images. Immutable after construction; every method is
/// const and safe to call from several threads at once.
class Renderer {
 public:
  /// Throws std::invalid_argument for invalid options (RenderOptions::resolved).
  explicit Renderer(RenderOptions options = {});

  /// The resolved options.
  const RenderOptions& options() const { return options_; }

  /// Chooses colours and positions for `spec`, deterministically from `seed`. Throws
  /// std::invalid_argument if the spec asks for more than kMaxObjects objects, or if an
  /// exclude clause forbids what an include clause asks for; std::runtime_error if no
  /// layout satisfying the spec's positions is found (not seen for template specs).
  Scene layout(const PromptSpec& spec, uint64_t seed) const;

  /// Draws a scene: [3,H,W] uint8. Throws std::invalid_argument if an object lies outside
  /// the image or has another size than options().shape_size.
  torch::Tensor draw(const Scene& scene) const;

  /// draw(layout(spec, seed)).
  torch::Tensor render(const PromptSpec& spec, uint64_t seed) const;
  /// Renders GenEval metadata (PromptSpec::from_metadata without the template check).
  torch::Tensor render(const nlohmann::json& metadata, uint64_t seed) const;

  /// [N,3,H,W] uint8: image i is render(specs[i], seeds[i]); images are drawn in parallel
  /// (at::parallel_for) and identical to one-by-one renders. Throws std::invalid_argument
  /// if the lengths differ, and as layout().
  torch::Tensor render_batch(const std::vector<PromptSpec>& specs, const std::vector<uint64_t>& seeds) const;
  /// Image i uses seed derive_seed(base_seed, i).
  torch::Tensor render_batch(const std::vector<PromptSpec>& specs, uint64_t base_seed) const;

  /// The 0/1 mask of `shape` at options().shape_size, row-major.
  const std::vector<uint8_t>& mask(Shape shape) const { return masks_[static_cast<size_t>(shape)]; }

 private:
  void layout_into(const PromptSpec& spec, uint64_t seed, Scene& scene) const;
  void draw_into(const Scene& scene, uint8_t* chw) const;

  RenderOptions options_;
  std::array<std::vector<uint8_t>, kNumShapes> masks_;
};

}  // namespace flowgrpo::shapes
