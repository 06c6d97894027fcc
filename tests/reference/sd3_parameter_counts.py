#!/usr/bin/env python3
"""Parameter counts of SD3.5-Medium's components at real size, from diffusers /
transformers / peft modules built without storage (accelerate's init_empty_weights),
for flowgrpo's memory-plan `reference` test. Prints one JSON object:
{"transformer", "pos_embed_buffer", "vae", "clip_l", "clip_g", "t5", "lora"} where
lora is flow_grpo's SD3 adapter (r 32 on attn.{to_q,to_k,to_v,to_out.0,add_q_proj,
add_k_proj,add_v_proj,to_add_out})."""
import json

from accelerate import init_empty_weights
from diffusers import AutoencoderKL, SD3Transformer2DModel
from peft import LoraConfig
from transformers import CLIPTextConfig, CLIPTextModelWithProjection, T5Config, T5EncoderModel


def count(m):
    return sum(p.numel() for p in m.parameters())


with init_empty_weights():
    transformer = SD3Transformer2DModel(
        sample_size=128, patch_size=2, in_channels=16, out_channels=16, num_layers=24, attention_head_dim=64,
        num_attention_heads=24, joint_attention_dim=4096, caption_projection_dim=1536, pooled_projection_dim=2048,
        pos_embed_max_size=384, dual_attention_layers=tuple(range(13)), qk_norm="rms_norm")
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 4,
        up_block_types=["UpDecoderBlock2D"] * 4, block_out_channels=[128, 256, 512, 512], layers_per_block=2,
        latent_channels=16, norm_num_groups=32, sample_size=1024, scaling_factor=1.5305, shift_factor=0.0609,
        use_quant_conv=False, use_post_quant_conv=False)
    clip_l = CLIPTextModelWithProjection(CLIPTextConfig(
        hidden_size=768, intermediate_size=3072, projection_dim=768, num_hidden_layers=12, num_attention_heads=12,
        hidden_act="quick_gelu"))
    clip_g = CLIPTextModelWithProjection(CLIPTextConfig(
        hidden_size=1280, intermediate_size=5120, projection_dim=1280, num_hidden_layers=32, num_attention_heads=20,
        hidden_act="gelu"))
    t5 = T5EncoderModel(T5Config(vocab_size=32128, d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_heads=64,
                                 feed_forward_proj="gated-gelu"))
    out = {"transformer": count(transformer), "pos_embed_buffer": transformer.pos_embed.pos_embed.numel(),
           "vae": count(vae), "clip_l": count(clip_l), "clip_g": count(clip_g), "t5": count(t5)}
    transformer.add_adapter(LoraConfig(
        r=32, lora_alpha=64, init_lora_weights="gaussian",
        target_modules=["attn.add_k_proj", "attn.add_q_proj", "attn.add_v_proj", "attn.to_add_out", "attn.to_k",
                        "attn.to_out.0", "attn.to_q", "attn.to_v"]))
    out["lora"] = sum(p.numel() for name, p in transformer.named_parameters() if "lora" in name)
print(json.dumps(out))
