#include "flowgrpo/rewards/clip_image_processor.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace flowgrpo::rewards {

namespace {

// Pillow (src/libImaging/Resample.c) keeps 8-bit coefficients in fixed point with
// this many fractional bits, so that a sum of products fits in 32 bits.
constexpr int kPrecisionBits = 32 - 8 - 2;

double bicubic(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

// For every output position: the first input index and the fixed-point weights of
// the input span it reads. Mirrors Pillow's precompute_coeffs + normalize_coeffs_8bpc.
struct Coefficients {
  std::vector<int64_t> first;
  std::vector<std::vector<int32_t>> weights;
};

Coefficients precompute(int64_t in_size, int64_t out_size) {
  constexpr double kSupport = 2.0;
  const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
  const double filter_scale = std::max(scale, 1.0);
  const double support = kSupport * filter_scale;
  Coefficients c;
  c.first.resize(out_size);
  c.weights.resize(out_size);
  for (int64_t xx = 0; xx < out_size; ++xx) {
    const double center = (static_cast<double>(xx) + 0.5) * scale;
    // C casts truncate toward zero, which Pillow relies on for "rounding".
    const int64_t xmin = std::max<int64_t>(static_cast<int64_t>(center - support + 0.5), 0);
    const int64_t xmax = std::min<int64_t>(static_cast<int64_t>(center + support + 0.5), in_size) - xmin;
    std::vector<double> k(std::max<int64_t>(xmax, 0));
    double total = 0.0;
    for (int64_t x = 0; x < xmax; ++x) {
      k[x] = bicubic((static_cast<double>(x + xmin) - center + 0.5) / filter_scale);
      total += k[x];
    }
    std::vector<int32_t> fixed(k.size());
    for (size_t x = 0; x < k.size(); ++x) {
      const double w = total != 0.0 ? k[x] / total : k[x];
      const double scaled = w * static_cast<double>(1 << kPrecisionBits);
      fixed[x] = static_cast<int32_t>(w < 0 ? scaled - 0.5 : scaled + 0.5);
    }
    c.first[xx] = xmin;
    c.weights[xx] = std::move(fixed);
  }
  return c;
}

uint8_t clip8(int64_t sum) {
  const int64_t v = sum >> kPrecisionBits;  // arithmetic shift, as Pillow's table lookup
  return static_cast<uint8_t>(std::clamp<int64_t>(v, 0, 255));
}

// One pass along one axis of a [planes, rows, cols] uint8 array, resampling `cols`
// (horizontal) — the vertical pass transposes rows and cols around it.
void resample_rows(const uint8_t* in, uint8_t* out, int64_t planes_rows, int64_t in_cols, int64_t out_cols,
                   const Coefficients& c) {
  for (int64_t r = 0; r < planes_rows; ++r) {
    const uint8_t* src = in + r * in_cols;
    uint8_t* dst = out + r * out_cols;
    for (int64_t xx = 0; xx < out_cols; ++xx) {
      int64_t sum = int64_t{1} << (kPrecisionBits - 1);
      const auto& w = c.weights[xx];
      const uint8_t* s = src + c.first[xx];
      for (size_t x = 0; x < w.size(); ++x) sum += static_cast<int64_t>(s[x]) * w[x];
      dst[xx] = clip8(sum);
    }
  }
}

}  // namespace

torch::Tensor pil_bicubic_resize(const torch::Tensor& images, int64_t out_height, int64_t out_width) {
  if (!images.defined() || (images.dim() != 3 && images.dim() != 4) || images.scalar_type() != torch::kByte)
    throw std::invalid_argument("pil_bicubic_resize: expected uint8 images [N,C,H,W] or [C,H,W]");
  if (out_height <= 0 || out_width <= 0)
    throw std::invalid_argument("pil_bicubic_resize: output size must be positive, found " +
                                std::to_string(out_height) + "x" + std::to_string(out_width));
  const bool batched = images.dim() == 4;
  auto x = (batched ? images : images.unsqueeze(0)).to(torch::kCPU).contiguous();
  const int64_t n = x.size(0), ch = x.size(1), h = x.size(2), w = x.size(3);
  if (h == 0 || w == 0) throw std::invalid_argument("pil_bicubic_resize: empty input image");
  // Pillow skips a pass whose size does not change (the box is the whole image).
  if (w != out_width) {
    auto out = torch::empty({n, ch, h, out_width}, torch::kByte);
    resample_rows(x.data_ptr<uint8_t>(), out.data_ptr<uint8_t>(), n * ch * h, w, out_width,
                  precompute(w, out_width));
    x = out;
  }
  if (h != out_height) {
    auto t = x.transpose(2, 3).contiguous();
    auto out = torch::empty({n, ch, out_width, out_height}, torch::kByte);
    resample_rows(t.data_ptr<uint8_t>(), out.data_ptr<uint8_t>(), n * ch * out_width, h, out_height,
                  precompute(h, out_height));
    x = out.transpose(2, 3).contiguous();
  }
  return batched ? x : x.squeeze(0);
}

std::array<int64_t, 2> clip_resize_size(int64_t height, int64_t width, int64_t shortest_edge) {
  if (height <= 0 || width <= 0 || shortest_edge <= 0)
    throw std::invalid_argument("clip_resize_size: sizes must be positive");
  const int64_t short_side = std::min(height, width), long_side = std::max(height, width);
  // Python's int(size * long / short): true division in float64, truncated.
  const auto new_long = static_cast<int64_t>(
      static_cast<double>(shortest_edge) * static_cast<double>(long_side) / static_cast<double>(short_side));
  if (width <= height) return {new_long, shortest_edge};
  return {shortest_edge, new_long};
}

namespace {

// Python floor division (the crop offsets can be negative).
int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

torch::Tensor center_crop(const torch::Tensor& x, int64_t crop_h, int64_t crop_w) {
  const int64_t h = x.size(2), w = x.size(3);
  int64_t top = floor_div(h - crop_h, 2), left = floor_div(w - crop_w, 2);
  if (top >= 0 && left >= 0 && top + crop_h <= h && left + crop_w <= w)
    return x.slice(2, top, top + crop_h).slice(3, left, left + crop_w);
  // Smaller than the crop: centre the image on zeros first (ceil of half the margin).
  const int64_t new_h = std::max(h, crop_h), new_w = std::max(w, crop_w);
  const int64_t top_pad = (new_h - h + 1) / 2, left_pad = (new_w - w + 1) / 2;
  auto padded = torch::zeros({x.size(0), x.size(1), new_h, new_w}, x.options());
  padded.slice(2, top_pad, top_pad + h).slice(3, left_pad, left_pad + w).copy_(x);
  top += top_pad;
  left += left_pad;
  return padded.slice(2, std::max<int64_t>(top, 0), std::min(new_h, top + crop_h))
      .slice(3, std::max<int64_t>(left, 0), std::min(new_w, left + crop_w));
}

}  // namespace

torch::Tensor clip_preprocess(const torch::Tensor& images, const ClipImageOptions& options) {
  if (!images.defined() || images.dim() != 4 || images.size(1) != 3 || images.scalar_type() != torch::kByte)
    throw std::invalid_argument("clip_preprocess: expected uint8 RGB images [N,3,H,W]");
  if (options.shortest_edge <= 0 || options.crop_height <= 0 || options.crop_width <= 0)
    throw std::invalid_argument("clip_preprocess: shortest_edge and crop sizes must be positive");
  const auto [rh, rw] = clip_resize_size(images.size(2), images.size(3), options.shortest_edge);
  const auto resized = pil_bicubic_resize(images, rh, rw);
  const auto cropped = center_crop(resized, options.crop_height, options.crop_width);
  // transformers rescales in float64 and casts to float32, then normalises in float32.
  auto x = (cropped.to(torch::kDouble) * (1.0 / 255.0)).to(torch::kFloat);
  const auto mean =
      torch::tensor(std::vector<float>(options.mean.begin(), options.mean.end())).view({1, 3, 1, 1});
  const auto std =
      torch::tensor(std::vector<float>(options.std.begin(), options.std.end())).view({1, 3, 1, 1});
  return ((x - mean) / std).contiguous();
}

}  // namespace flowgrpo::rewards
