#pragma once
/// @file detector.h
/// A deterministic parser of ShapesEval images, standing in for GenEval's Mask2Former
/// detector and CLIP colour classifier (docs/shapes.md):
///  1. a pixel p takes colour c when it lies near the segment from the background to c,
///     as an edge pixel covering a fraction a of a shape does (p ≈ bg + a·(c − bg)): its
///     coverage a (projection on the line) is at least `min_coverage` and its distance
///     from the line at most `color_threshold`; of several such colours the one whose
///     line is nearest wins. Everything else (background, muddy pixels) is background;
///  2. 8-connected components of each colour are candidate objects;
///  3. components smaller than `min_area_fraction`·shape_size² pixels, or with a box
///     longer than `max_aspect`× its width (or vice versa), are noise and dropped;
///  4. the shape is the one whose template (the renderer's own pixel definition,
///     stretched to the component's box) overlaps the component best (IoU); that IoU is
///     the detection's confidence, and components whose best IoU is below
///     `min_shape_iou` are dropped as "no shape".
/// On the renderer's images every object is found with IoU 1 and nothing else is.

#include "flowgrpo/shapes/geometry.h"
#include "flowgrpo/shapes/vocabulary.h"

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace flowgrpo::shapes {

/// Detector thresholds. Zero for shape_size means "the renderer's default for the image
/// width" (RenderOptions).
struct DetectorOptions {
  /// Largest Euclidean RGB distance (0..255 units) between a pixel and a colour's line
  /// (background → colour) at which the pixel still takes the colour. The lines are at
  /// least 70 units apart wherever a pixel could take either colour (vocabulary.h), and
  /// 60 keeps Gaussian noise up to σ ≈ 0.1 (in [0,1] units) inside.
  double color_threshold = 60.0;
  /// Smallest position along that line (0 = background, 1 = the colour), i.e. the
  /// smallest coverage at which an edge pixel still belongs to the shape.
  double min_coverage = 0.5;
  /// The shape size images were drawn with (for the noise filter); 0 = renderer default.
  int64_t shape_size = 0;
  /// Components with fewer pixels than this fraction of shape_size² are noise.
  double min_area_fraction = 0.25;
  /// Components whose box is more than this many times longer than wide (or tall) are
  /// not shapes.
  double max_aspect = 2.0;
  /// Components fitting no shape template with at least this IoU are not shapes.
  double min_shape_iou = 0.5;
};

/// One detected object.
struct Detection {
  Shape shape = Shape::kCircle;
  Color color = Color::kRed;
  /// The component's bounding box (pixel-edge coordinates, geometry.h).
  Box box;
  /// Mean of the component's pixel centres (column + 0.5, row + 0.5).
  double centroid_x = 0, centroid_y = 0;
  /// Pixels in the component.
  int64_t area = 0;
  /// IoU of the component with its shape's template, in (0, 1]; orders detections the
  /// way GenEval orders its detector's by confidence.
  double confidence = 0;
};

/// "red circle at [3,4,13,14) area 80 iou 1.00" for messages and logs.
std::string to_string(const Detection& detection);

/// Parses images. Immutable; const methods are safe to call from several threads.
class Detector {
 public:
  /// Throws std::invalid_argument for a negative or non-finite threshold, min_coverage
  /// outside (0, 1], a fraction outside [0, 1], max_aspect < 1 or min_shape_iou outside [0, 1].
  explicit Detector(DetectorOptions options = {});
  const DetectorOptions& options() const { return options_; }

  /// Objects in one image [3,H,W] (uint8, or float32/float64 in [0,1], mapped to uint8 by
  /// round(x·255) clamped, as RewardBatch::as_uint8), sorted by confidence (descending),
  /// then area (descending), then top-to-bottom, left-to-right. Throws
  /// std::invalid_argument for another layout or dtype.
  std::vector<Detection> detect(const torch::Tensor& image) const;

  /// detect() for every image of [N,3,H,W].
  std::vector<std::vector<Detection>> detect_batch(const torch::Tensor& images) const;

  /// The palette index per pixel of one image [3,H,W] as [H,W] uint8: 0 for background,
  /// 1 + int(Color) for a colour (step 1 above), for debugging and tests.
  torch::Tensor classify_pixels(const torch::Tensor& image) const;

 private:
  std::vector<Detection> detect_u8(const uint8_t* chw, int64_t height, int64_t width) const;
  void classify_u8(const uint8_t* chw, int64_t height, int64_t width, uint8_t* labels) const;

  DetectorOptions options_;
};

}  // namespace flowgrpo::shapes
