#pragma once
/// @file jpeg_reward.h
/// DDPO's / flow_grpo's JPEG rewards (flow_grpo/rewards.py): each image is encoded
/// as a JPEG at quality 95 (libjpeg defaults, as PIL's `save(format="JPEG",
/// quality=95)`: baseline, 4:2:0 chroma subsampling, JFIF header) and its size in
/// kilobytes (bytes / 1000) is the signal.
///   - `jpeg_incompressibility`: size_kb
///   - `jpeg_compressibility`:  −size_kb / 500
/// Both report the size as the component `size_kb`.

#include "flowgrpo/rewards/reward.h"

#include <cstdint>
#include <vector>

namespace flowgrpo::rewards {

/// The JPEG encoding (quality 1..100) of one RGB uint8 image [3,H,W].
/// Throws std::invalid_argument for other shapes/dtypes, std::runtime_error if libjpeg fails.
std::vector<uint8_t> encode_jpeg(const torch::Tensor& image, int quality = 95);

class JpegReward final : public Reward {
 public:
  enum class Kind { kCompressibility, kIncompressibility };
  explicit JpegReward(Kind kind) : kind_(kind) {}
  std::string name() const override;
  RewardResult score(const RewardBatch& batch) override;
  /// A size is >= 0: compressibility <= 0, incompressibility >= 0.
  ScoreRange valid_range() const override;

 private:
  Kind kind_;
};

}  // namespace flowgrpo::rewards
