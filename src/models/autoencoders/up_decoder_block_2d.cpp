#include "flowgrpo/models/autoencoders/up_decoder_block_2d.h"

namespace flowgrpo::models {

UpDecoderBlock2DImpl::UpDecoderBlock2DImpl(int64_t in_channels, int64_t out_channels, int64_t num_layers,
                                           int64_t groups, bool add_upsample) {
  resnets = register_module("resnets", torch::nn::ModuleList());
  for (int64_t i = 0; i < num_layers; ++i)
    resnets->push_back(ResnetBlock2D(i == 0 ? in_channels : out_channels, out_channels, groups));
  if (add_upsample)
    upsamplers = register_module("upsamplers", torch::nn::ModuleList(Upsample2D(out_channels)));
}

torch::Tensor UpDecoderBlock2DImpl::forward(const torch::Tensor& x) {
  auto h = x;
  for (size_t i = 0; i < resnets->size(); ++i) h = resnets->ptr<ResnetBlock2DImpl>(i)->forward(h);
  if (upsamplers) h = upsamplers->ptr<Upsample2DImpl>(0)->forward(h);
  return h;
}

}  // namespace flowgrpo::models
