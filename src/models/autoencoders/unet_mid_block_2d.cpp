#include "flowgrpo/models/autoencoders/unet_mid_block_2d.h"

namespace flowgrpo::models {

UNetMidBlock2DImpl::UNetMidBlock2DImpl(int64_t channels, int64_t groups, bool add_attention) {
  // diffusers registers `attentions` before `resnets`; only the names matter for loading.
  attentions = register_module("attentions", torch::nn::ModuleList());
  if (add_attention) attentions->push_back(SpatialSelfAttention(channels, groups));
  resnets = register_module("resnets", torch::nn::ModuleList(ResnetBlock2D(channels, channels, groups),
                                                             ResnetBlock2D(channels, channels, groups)));
}

torch::Tensor UNetMidBlock2DImpl::forward(const torch::Tensor& x) {
  // unet_2d_blocks.py::UNetMidBlock2D.forward with num_layers 1 and temb None.
  auto h = resnets->ptr<ResnetBlock2DImpl>(0)->forward(x);
  if (!attentions->is_empty()) h = attentions->ptr<SpatialSelfAttentionImpl>(0)->forward(h);
  return resnets->ptr<ResnetBlock2DImpl>(1)->forward(h);
}

}  // namespace flowgrpo::models
