#include "flowgrpo/rewards/jpeg_reward.h"

#include <jpeglib.h>

#include <csetjmp>
#include <cstdio>
#include <stdexcept>

namespace flowgrpo::rewards {

ScoreRange JpegReward::valid_range() const {
  ScoreRange range;
  if (kind_ == Kind::kCompressibility)
    range.max = 0.0;
  else
    range.min = 0.0;
  return range;
}

namespace {

struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void on_error(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

}  // namespace

std::vector<uint8_t> encode_jpeg(const torch::Tensor& image, int quality) {
  if (image.dim() != 3 || image.size(0) != 3 || image.scalar_type() != torch::kByte)
    throw std::invalid_argument("encode_jpeg: expected an RGB uint8 image [3,H,W]");
  if (quality < 1 || quality > 100) throw std::invalid_argument("encode_jpeg: quality must be in [1, 100]");
  const auto hwc = image.permute({1, 2, 0}).contiguous();
  const auto height = static_cast<JDIMENSION>(image.size(1));
  const auto width = static_cast<JDIMENSION>(image.size(2));

  jpeg_compress_struct cinfo{};
  ErrorManager err{};
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = on_error;
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  if (setjmp(err.jump)) {
    jpeg_destroy_compress(&cinfo);
    std::free(buffer);
    throw std::runtime_error(std::string("JPEG encoding failed: ") + err.message);
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = width;
  cinfo.image_height = height;
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults(&cinfo);  // 4:2:0, JFIF header, no optimisation: PIL's defaults
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  const auto* data = hwc.data_ptr<uint8_t>();
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(data + static_cast<size_t>(cinfo.next_scanline) * width * 3);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::vector<uint8_t> out(buffer, buffer + size);
  std::free(buffer);
  return out;
}

std::string JpegReward::name() const {
  return kind_ == Kind::kCompressibility ? "jpeg_compressibility" : "jpeg_incompressibility";
}

RewardResult JpegReward::score(const RewardBatch& batch) {
  const auto images = batch.as_uint8();
  auto size_kb = torch::empty({batch.size()}, torch::kDouble);
  for (int64_t i = 0; i < batch.size(); ++i)
    size_kb[i] = static_cast<double>(encode_jpeg(images[i], 95).size()) / 1000.0;
  auto result =
      RewardResult::from_scores(kind_ == Kind::kCompressibility ? -size_kb / 500.0 : size_kb.clone());
  result.components["size_kb"] = size_kb;
  return result;
}

}  // namespace flowgrpo::rewards
