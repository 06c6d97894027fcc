#include "flowgrpo/models/autoencoders/down_encoder_block_2d.h"

namespace flowgrpo::models {

DownEncoderBlock2DImpl::DownEncoderBlock2DImpl(int64_t in_channels, int64_t out_channels, int64_t num_layers,
                                               int64_t groups, bool add_downsample) {
  resnets = register_module("resnets", torch::nn::ModuleList());
  for (int64_t i = 0; i < num_layers; ++i)
    resnets->push_back(ResnetBlock2D(i == 0 ? in_channels : out_channels, out_channels, groups));
  if (add_downsample)
    downsamplers = register_module("downsamplers", torch::nn::ModuleList(Downsample2D(out_channels)));
}

torch::Tensor DownEncoderBlock2DImpl::forward(const torch::Tensor& x) {
  auto h = x;
  for (size_t i = 0; i < resnets->size(); ++i) h = resnets->ptr<ResnetBlock2DImpl>(i)->forward(h);
  if (downsamplers) h = downsamplers->ptr<Downsample2DImpl>(0)->forward(h);
  return h;
}

}  // namespace flowgrpo::models
