#include "flowgrpo/shapes/detector.h"

#include "shapes/raster.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace flowgrpo::shapes {

namespace {

std::string sizes_string(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? "," : "") + std::to_string(t.size(d));
  return s + "]";
}

// An image as contiguous uint8 CHW, mapping float input like RewardBatch::as_uint8.
torch::Tensor to_u8(const torch::Tensor& image) {
  if (image.scalar_type() == torch::kByte) return image.contiguous();
  if (image.scalar_type() == torch::kFloat || image.scalar_type() == torch::kDouble)
    return (image.to(torch::kFloat) * 255.0).round().clamp(0, 255).to(torch::kByte).contiguous();
  throw std::invalid_argument(std::string("detector: images must be uint8 or float in [0,1], found ") +
                              c10::toString(image.scalar_type()));
}

int64_t default_shape_size(int64_t width) {
  return std::max<int64_t>(1, (width * 10 + 16) / 32);
}

}  // namespace

std::string to_string(const Detection& d) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s %s at [%g,%g,%g,%g) area %lld iou %.2f", to_string(d.color).c_str(),
                to_string(d.shape).c_str(), d.box.x0, d.box.y0, d.box.x1, d.box.y1,
                static_cast<long long>(d.area), d.confidence);
  return buf;
}

Detector::Detector(DetectorOptions options) : options_(options) {
  if (!(options_.color_threshold >= 0) || !std::isfinite(options_.color_threshold))
    throw std::invalid_argument("detector: color_threshold must be a finite number >= 0");
  if (!(options_.min_coverage > 0 && options_.min_coverage <= 1))
    throw std::invalid_argument("detector: min_coverage must be in (0, 1]");
  if (options_.shape_size < 0) throw std::invalid_argument("detector: shape_size must be >= 0");
  if (!(options_.min_area_fraction >= 0 && options_.min_area_fraction <= 1))
    throw std::invalid_argument("detector: min_area_fraction must be in [0, 1]");
  if (!(options_.max_aspect >= 1)) throw std::invalid_argument("detector: max_aspect must be >= 1");
  if (!(options_.min_shape_iou >= 0 && options_.min_shape_iou <= 1))
    throw std::invalid_argument("detector: min_shape_iou must be in [0, 1]");
}

void Detector::classify_u8(const uint8_t* chw, int64_t height, int64_t width, uint8_t* labels) const {
  // Each colour c defines the line from the background to c, along which an edge pixel
  // covering a fraction a of the shape lies (bg + a·(c − bg)). A pixel takes the colour
  // whose line passes closest to it, provided it lies at least min_coverage along it
  // and within color_threshold of it. Thresholding coverage at one half keeps blurred
  // shapes at their drawn size; the distance bound turns muddy pixels into background.
  struct Line {
    double x, y, z, norm2;
  };
  std::array<Line, kNumColors> lines{};
  for (Color c : all_colors()) {
    const Rgb v = rgb(c);
    const double x = v.r - kBackground.r, y = v.g - kBackground.g, z = v.b - kBackground.b;
    lines[static_cast<size_t>(c)] = {x, y, z, x * x + y * y + z * z};
  }
  const double max_dist2 = options_.color_threshold * options_.color_threshold;
  const double min_coverage = options_.min_coverage;
  const int64_t plane = height * width;
  for (int64_t p = 0; p < plane; ++p) {
    const double dr = chw[p] - kBackground.r, dg = chw[p + plane] - kBackground.g,
                 db = chw[p + 2 * plane] - kBackground.b;
    const double d2 = dr * dr + dg * dg + db * db;
    int best = -1;
    double best_dist2 = max_dist2;
    for (size_t k = 0; k < lines.size(); ++k) {
      const Line& l = lines[k];
      const double dot = dr * l.x + dg * l.y + db * l.z;
      if (dot < min_coverage * l.norm2) continue;     // coverage a = dot / |c − bg|²
      const double dist2 = d2 - dot * dot / l.norm2;  // squared distance from the line
      if (dist2 <= best_dist2) {
        best_dist2 = dist2;
        best = static_cast<int>(k);
      }
    }
    labels[p] = best < 0 ? 0 : static_cast<uint8_t>(best + 1);
  }
}

std::vector<Detection> Detector::detect_u8(const uint8_t* chw, int64_t height, int64_t width) const {
  const int64_t plane = height * width;
  std::vector<uint8_t> labels(static_cast<size_t>(plane));
  classify_u8(chw, height, width, labels.data());

  const int64_t shape_size = options_.shape_size > 0 ? options_.shape_size : default_shape_size(width);
  const double min_area = options_.min_area_fraction * static_cast<double>(shape_size * shape_size);

  std::vector<int32_t> component(static_cast<size_t>(plane), -1);
  std::vector<int64_t> stack, pixels;
  std::vector<Detection> out;
  int32_t next_id = 0;
  for (int64_t start = 0; start < plane; ++start) {
    if (labels[static_cast<size_t>(start)] == 0 || component[static_cast<size_t>(start)] >= 0) continue;
    const uint8_t label = labels[static_cast<size_t>(start)];
    const int32_t id = next_id++;
    // Flood fill with 8-connectivity: a blurred triangle's apex or a noisy edge can hang
    // on by a diagonal; the renderer's gap keeps distinct objects apart either way.
    pixels.clear();
    stack.assign(1, start);
    component[static_cast<size_t>(start)] = id;
    while (!stack.empty()) {
      const int64_t p = stack.back();
      stack.pop_back();
      pixels.push_back(p);
      const int64_t y = p / width, x = p % width;
      for (int64_t dy = -1; dy <= 1; ++dy)
        for (int64_t dx = -1; dx <= 1; ++dx) {
          const int64_t ny = y + dy, nx = x + dx;
          if ((dy == 0 && dx == 0) || ny < 0 || ny >= height || nx < 0 || nx >= width) continue;
          const int64_t q = ny * width + nx;
          if (labels[static_cast<size_t>(q)] == label && component[static_cast<size_t>(q)] < 0) {
            component[static_cast<size_t>(q)] = id;
            stack.push_back(q);
          }
        }
    }
    const auto area = static_cast<int64_t>(pixels.size());
    if (static_cast<double>(area) < min_area) continue;
    int64_t x0 = width, y0 = height, x1 = -1, y1 = -1;
    double sx = 0, sy = 0;
    for (int64_t p : pixels) {
      const int64_t y = p / width, x = p % width;
      x0 = std::min(x0, x);
      x1 = std::max(x1, x);
      y0 = std::min(y0, y);
      y1 = std::max(y1, y);
      sx += static_cast<double>(x) + 0.5;
      sy += static_cast<double>(y) + 0.5;
    }
    const int64_t w = x1 - x0 + 1, h = y1 - y0 + 1;
    if (static_cast<double>(std::max(w, h)) > options_.max_aspect * static_cast<double>(std::min(w, h)))
      continue;
    // Template fit: IoU of the component with each shape stretched to its box.
    double best_iou = -1;
    Shape best_shape = Shape::kCircle;
    for (Shape shape : all_shapes()) {
      int64_t inter = 0, templ = 0;
      for (int64_t i = 0; i < h; ++i)
        for (int64_t j = 0; j < w; ++j) {
          if (!detail::in_shape(shape, i, j, w, h)) continue;
          ++templ;
          inter += component[static_cast<size_t>((y0 + i) * width + x0 + j)] == id;
        }
      const double iou = static_cast<double>(inter) / static_cast<double>(area + templ - inter);
      if (iou > best_iou) {
        best_iou = iou;
        best_shape = shape;
      }
    }
    if (best_iou < options_.min_shape_iou) continue;
    Detection d;
    d.shape = best_shape;
    d.color = static_cast<Color>(label - 1);
    d.box = {static_cast<double>(x0), static_cast<double>(y0), static_cast<double>(x1 + 1),
             static_cast<double>(y1 + 1)};
    d.centroid_x = sx / static_cast<double>(area);
    d.centroid_y = sy / static_cast<double>(area);
    d.area = area;
    d.confidence = best_iou;
    out.push_back(d);
  }
  std::stable_sort(out.begin(), out.end(), [](const Detection& a, const Detection& b) {
    if (a.confidence != b.confidence) return a.confidence > b.confidence;
    if (a.area != b.area) return a.area > b.area;
    if (a.box.y0 != b.box.y0) return a.box.y0 < b.box.y0;
    return a.box.x0 < b.box.x0;
  });
  return out;
}

std::vector<Detection> Detector::detect(const torch::Tensor& image) const {
  if (!image.defined() || image.dim() != 3 || image.size(0) != 3)
    throw std::invalid_argument("detector: expected an image [3,H,W], found " +
                                (image.defined() ? sizes_string(image) : std::string("an undefined tensor")));
  const auto u8 = to_u8(image.cpu());
  return detect_u8(u8.data_ptr<uint8_t>(), u8.size(1), u8.size(2));
}

std::vector<std::vector<Detection>> Detector::detect_batch(const torch::Tensor& images) const {
  if (!images.defined() || images.dim() != 4 || images.size(1) != 3)
    throw std::invalid_argument(
        "detector: expected images [N,3,H,W], found " +
        (images.defined() ? sizes_string(images) : std::string("an undefined tensor")));
  const auto u8 = to_u8(images.cpu());
  const int64_t n = u8.size(0), h = u8.size(2), w = u8.size(3);
  std::vector<std::vector<Detection>> out(static_cast<size_t>(n));
  const uint8_t* base = u8.data_ptr<uint8_t>();
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = detect_u8(base + i * 3 * h * w, h, w);
  return out;
}

torch::Tensor Detector::classify_pixels(const torch::Tensor& image) const {
  if (!image.defined() || image.dim() != 3 || image.size(0) != 3)
    throw std::invalid_argument("detector: expected an image [3,H,W], found " +
                                (image.defined() ? sizes_string(image) : std::string("an undefined tensor")));
  const auto u8 = to_u8(image.cpu());
  auto labels = torch::empty({u8.size(1), u8.size(2)}, torch::kByte);
  classify_u8(u8.data_ptr<uint8_t>(), u8.size(1), u8.size(2), labels.data_ptr<uint8_t>());
  return labels;
}

}  // namespace flowgrpo::shapes
