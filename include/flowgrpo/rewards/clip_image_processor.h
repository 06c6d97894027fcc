#pragma once
/// @file clip_image_processor.h
/// The image side of Hugging Face's `CLIPImageProcessor`, exactly: the CLIP-based
/// rewards (PickScore, CLIPScore, the LAION aesthetic predictor) score the
/// processor's output, and the reference hands it PIL images made from
/// `(x·255).round().clamp(0,255)` uint8 arrays. The steps, each reproduced bit for bit:
///   1. resize so the shortest edge is `shortest_edge` (longest = int(s·long/short)),
///      with PIL's BICUBIC resampling (Pillow's separable convolution with the
///      a = −0.5 kernel widened by the downscale factor, 22-bit fixed-point
///      coefficients, horizontal pass first, uint8 rounding between the passes);
///   2. centre crop to `crop_height`×`crop_width` (zero padding when the image is
///      smaller, top/left offsets by floor division);
///   3. rescale by 1/255 (computed in float64, stored as float32);
///   4. normalise with the mean and std in float32.

#include <torch/torch.h>

#include <array>
#include <cstdint>

namespace flowgrpo::rewards {

struct ClipImageOptions {
  int64_t shortest_edge = 224;
  int64_t crop_height = 224;
  int64_t crop_width = 224;
  /// OpenAI CLIP's normalisation (transformers' OPENAI_CLIP_MEAN / OPENAI_CLIP_STD).
  std::array<float, 3> mean{0.48145466f, 0.4578275f, 0.40821073f};
  std::array<float, 3> std{0.26862954f, 0.26130258f, 0.27577711f};
};

/// Pillow's `Image.resize((out_width, out_height), Image.BICUBIC)` of uint8 images
/// [N,C,H,W] or [C,H,W] (any number of channels, each resampled independently).
torch::Tensor pil_bicubic_resize(const torch::Tensor& images, int64_t out_height, int64_t out_width);

/// (height, width) after CLIPImageProcessor's shortest-edge resize of an H×W image.
std::array<int64_t, 2> clip_resize_size(int64_t height, int64_t width, int64_t shortest_edge);

/// The processor's `pixel_values`: uint8 RGB [N,3,H,W] → float32 [N,3,crop_h,crop_w].
/// Throws std::invalid_argument for other shapes, dtypes or non-positive sizes.
torch::Tensor clip_preprocess(const torch::Tensor& images, const ClipImageOptions& options = {});

}  // namespace flowgrpo::rewards
