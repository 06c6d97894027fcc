#include "flowgrpo/io/image_png.h"

#include <png.h>

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace flowgrpo::io {

namespace {

std::string sizes_string(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? "," : "") + std::to_string(t.size(d));
  return s + "]";
}

torch::Tensor to_u8(const torch::Tensor& t, const char* what) {
  if (t.scalar_type() == torch::kByte) return t.cpu().contiguous();
  if (t.scalar_type() == torch::kFloat)
    return (t.cpu() * 255.0).round().clamp(0, 255).to(torch::kByte).contiguous();
  throw std::invalid_argument(std::string(what) + ": images must be uint8 or float32 in [0,1], found " +
                              c10::toString(t.scalar_type()));
}

}  // namespace

void write_png(const fs::path& path, const torch::Tensor& image) {
  if (!image.defined() || image.dim() != 3 || image.size(0) != 3 || image.size(1) < 1 || image.size(2) < 1)
    throw std::invalid_argument("write_png " + path.string() + ": expected an RGB image [3,H,W], found " +
                                (image.defined() ? sizes_string(image) : std::string("an undefined tensor")));
  const auto hwc = to_u8(image, "write_png").permute({1, 2, 0}).contiguous();
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(hwc.size(1));
  png.height = static_cast<png_uint_32>(hwc.size(0));
  png.format = PNG_FORMAT_RGB;
  const fs::path tmp = path.string() + ".tmp";
  if (!png_image_write_to_file(&png, tmp.c_str(), 0, hwc.data_ptr<uint8_t>(), 0, nullptr)) {
    const std::string message = png.message;
    png_image_free(&png);
    std::error_code ec;
    fs::remove(tmp, ec);
    throw std::runtime_error("write_png " + path.string() + ": " + message);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw std::runtime_error("write_png " + path.string() +
                             ": cannot move the file into place: " + ec.message());
  }
}

torch::Tensor read_png(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw std::invalid_argument("read_png " + path.string() + ": file not found");
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&png, path.c_str()))
    throw std::invalid_argument("read_png " + path.string() + ": " + png.message);
  png.format = PNG_FORMAT_RGB;  // libpng converts grey/palette/16-bit; alpha is composited on black
  auto hwc =
      torch::empty({static_cast<int64_t>(png.height), static_cast<int64_t>(png.width), 3}, torch::kByte);
  if (!png_image_finish_read(&png, nullptr, hwc.data_ptr<uint8_t>(), 0, nullptr)) {
    const std::string message = png.message;
    png_image_free(&png);
    throw std::invalid_argument("read_png " + path.string() + ": " + message);
  }
  return hwc.permute({2, 0, 1}).contiguous();
}

torch::Tensor make_grid(const torch::Tensor& images, int64_t cols, uint8_t separator) {
  if (!images.defined() || images.dim() != 4 || images.size(1) != 3 || images.size(0) < 1)
    throw std::invalid_argument(
        "make_grid: expected images [N,3,H,W] with N >= 1, found " +
        (images.defined() ? sizes_string(images) : std::string("an undefined tensor")));
  if (cols < 0) throw std::invalid_argument("make_grid: cols must be >= 0, got " + std::to_string(cols));
  const auto u8 = to_u8(images, "make_grid");
  const int64_t n = u8.size(0), h = u8.size(2), w = u8.size(3);
  if (cols == 0) cols = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(n))));
  cols = std::min(cols, n);
  const int64_t rows = (n + cols - 1) / cols;
  auto grid = torch::full({3, rows * h + rows - 1, cols * w + cols - 1}, separator, torch::kByte);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = i / cols, c = i % cols;
    grid.narrow(1, r * (h + 1), h).narrow(2, c * (w + 1), w).copy_(u8[i]);
  }
  return grid;
}

void write_png_grid(const fs::path& path, const torch::Tensor& images, int64_t cols, uint8_t separator) {
  write_png(path, make_grid(images, cols, separator));
}

}  // namespace flowgrpo::io
