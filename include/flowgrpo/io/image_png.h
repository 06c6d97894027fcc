#pragma once
/// @file image_png.h
/// RGB images as PNG files (libpng), and image grids for evaluation output.
/// Images are tensors [3,H,W] uint8 (channel-first, as the pipeline and rewards hold
/// them); float32 images in [0,1] are accepted where noted and mapped by round(x·255)
/// clamped to [0,255], like RewardBatch::as_uint8.

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>

namespace flowgrpo::io {

/// Writes an RGB image [3,H,W] (uint8, or float32 in [0,1]) as an 8-bit RGB PNG. The
/// bytes depend only on the pixels (no time stamp). The file is written beside `path`
/// and renamed into place, so a reader never sees a partial file. Throws
/// std::invalid_argument for another shape or dtype, or an empty image, and
/// std::runtime_error (naming the file) if it cannot be written.
void write_png(const std::filesystem::path& path, const torch::Tensor& image);

/// Reads a PNG as RGB [3,H,W] uint8. Grey, palette, 16-bit and alpha images are converted
/// to 8-bit RGB (alpha composited over black). Throws std::invalid_argument naming the
/// file if it is missing or not a readable PNG.
torch::Tensor read_png(const std::filesystem::path& path);

/// Tiles images [N,3,H,W] (uint8, or float32 in [0,1]) into one [3, R·H + R − 1, C·W + C − 1]
/// uint8 image with a 1-pixel separator line between neighbours, row-major, C = `cols`
/// (0: ceil(sqrt(N))) and R = ceil(N / C). Separators and unused cells take
/// `separator` (grey level). Throws std::invalid_argument for N = 0, a bad layout or a
/// negative `cols`.
torch::Tensor make_grid(const torch::Tensor& images, int64_t cols = 0, uint8_t separator = 0);

/// write_png(path, make_grid(images, cols, separator)).
void write_png_grid(const std::filesystem::path& path, const torch::Tensor& images, int64_t cols = 0,
                    uint8_t separator = 0);

}  // namespace flowgrpo::io
