#!/usr/bin/env python3
"""The live diffusers reference for flowgrpo's SD3 pipeline `reference` tests.

  sd3_pipeline_oracle.py SEED OUT_DIR

draws, from SEED, a tiny StableDiffusion3Pipeline — SD3Transformer2DModel,
AutoencoderKL (16 latent channels), two CLIPTextModelWithProjection (CLIP-L with
quick_gelu, CLIP-G with gelu), a T5EncoderModel (gated-gelu), the real CLIP BPE
files as `tokenizer/` and `tokenizer_2/` (pad "!" as SD3.5 ships it) and a T5
sentencepiece model as `tokenizer_3/` (T5TokenizerFast) — with random non-trivial
weights, and writes:

  OUT_DIR/model/            diffusers' save_pretrained (weights sharded into small
                            files, so every component's index path is taken)
  OUT_DIR/io.safetensors    the pipeline's encode_prompt for PROMPTS with the default
                            empty negative prompt at max_sequence_length L
                            (output.prompt_embeds, output.pooled_prompt_embeds,
                            output.negative_prompt_embeds,
                            output.negative_pooled_prompt_embeds), and the SD3 decode
                            path input.latents -> output.image01
                            (vae.decode(latents / scaling + shift), image processor
                            post-processing to [0, 1] as output_type="pt")
                            output.prompt_embeds_clip_skip1: the first two prompts
                            with clip_skip=1 (CLIP hidden_states[-3])
  OUT_DIR/case.json         the drawn sizes, L, the resolution and the prompts.
"""
import json
import math
import os
import random
import sys

import torch

TEXT_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "text")

PROMPTS = [
    "a photo of a red circle left of a blue square",
    "A photo of 3 dogs, \"quoted\" & punctuated; it's fine!",
    "naïve café — unicode ✓ emoji 🎉",
    " ".join(["word"] * 90),  # longer than both CLIP's 77 and T5's L tokens
    "",
]


def _perturb(module, gen):
    with torch.no_grad():
        for name, p in module.named_parameters():
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            if p.dim() == 1 and ("norm" in name or name.endswith("layer_norm.weight")):
                p.copy_((1.0 + 0.2 * noise) if name.endswith("weight") else 0.1 * noise)
            elif p.dim() == 1:
                p.copy_(0.1 * noise)
            else:
                p.copy_(noise / math.sqrt(p.shape[-1]))


def main():
    seed, out = int(sys.argv[1]), sys.argv[2]
    rng = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    from diffusers import (AutoencoderKL, FlowMatchEulerDiscreteScheduler, SD3Transformer2DModel,
                           StableDiffusion3Pipeline)
    from transformers import (CLIPTextConfig, CLIPTextModelWithProjection, CLIPTokenizer, T5Config,
                              T5EncoderModel, T5TokenizerFast)

    heads_l, heads_g = rng.choice([2, 4]), rng.choice([2, 4])
    hidden_l, hidden_g = 8 * heads_l, 10 * heads_g
    proj_l, proj_g = rng.choice([12, 16]), rng.choice([20, 24])
    d_model = hidden_l + hidden_g + rng.choice([0, 8, 16])
    length = rng.choice([16, 24, 32])
    clip_l = CLIPTextModelWithProjection(CLIPTextConfig(
        vocab_size=49408, hidden_size=hidden_l, intermediate_size=4 * hidden_l, projection_dim=proj_l,
        num_hidden_layers=rng.choice([2, 3]), num_attention_heads=heads_l, max_position_embeddings=77,
        hidden_act="quick_gelu", eos_token_id=2, bos_token_id=0, pad_token_id=1))
    clip_g = CLIPTextModelWithProjection(CLIPTextConfig(
        vocab_size=49408, hidden_size=hidden_g, intermediate_size=4 * hidden_g, projection_dim=proj_g,
        num_hidden_layers=rng.choice([2, 3]), num_attention_heads=heads_g, max_position_embeddings=77,
        hidden_act="gelu", eos_token_id=2, bos_token_id=0, pad_token_id=1))
    t5 = T5EncoderModel(T5Config(
        vocab_size=32128, d_model=d_model, d_kv=8, d_ff=2 * d_model, num_layers=2, num_heads=rng.choice([2, 4]),
        relative_attention_num_buckets=32, relative_attention_max_distance=128, feed_forward_proj="gated-gelu",
        is_encoder_decoder=False, dropout_rate=0.0))
    heads = rng.choice([2, 3])
    transformer = SD3Transformer2DModel(
        sample_size=16, patch_size=2, in_channels=16, out_channels=16, num_layers=rng.choice([2, 3]),
        attention_head_dim=8, num_attention_heads=heads, joint_attention_dim=d_model,
        caption_projection_dim=8 * heads, pooled_projection_dim=proj_l + proj_g, pos_embed_max_size=12,
        # SD3.5 (MMDiT-X: dual attention, qk RMSNorm) or SD3-Medium-1.0 (neither).
        dual_attention_layers=rng.choice([(0,), ()]), qk_norm=rng.choice(["rms_norm", None]))
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 2,
        up_block_types=["UpDecoderBlock2D"] * 2, block_out_channels=[8, 16], layers_per_block=1,
        latent_channels=16, norm_num_groups=4, sample_size=32, scaling_factor=1.5305, shift_factor=0.0609,
        use_quant_conv=False, use_post_quant_conv=False)
    for m in (clip_l, clip_g, t5, transformer, vae):
        _perturb(m, gen)
        m.eval()
    scheduler = FlowMatchEulerDiscreteScheduler(shift=3.0)
    clip_dir = os.path.join(TEXT_DATA, "clip_tokenizer")
    tok_l = CLIPTokenizer(os.path.join(clip_dir, "vocab.json"), os.path.join(clip_dir, "merges.txt"), model_max_length=77)
    tok_g = CLIPTokenizer(os.path.join(clip_dir, "vocab.json"), os.path.join(clip_dir, "merges.txt"), pad_token="!",
                          model_max_length=77)
    # SD3.5's shipped tokenizer.json prepends "▁" to the first word (Metaspace
    # prepend_scheme "always"); converting a spiece.model without add_prefix_space, as
    # transformers 4.51 does here by default, gives "never". Both occur in the wild.
    prepend = rng.choice([True, None])
    tok_t5 = T5TokenizerFast(vocab_file=os.path.join(TEXT_DATA, "t5_tokenizer_legal32k", "spiece.model"),
                             model_max_length=512, add_prefix_space=prepend)
    pipe = StableDiffusion3Pipeline(
        transformer=transformer, scheduler=scheduler, vae=vae, text_encoder=clip_l, tokenizer=tok_l,
        text_encoder_2=clip_g, tokenizer_2=tok_g, text_encoder_3=t5, tokenizer_3=tok_t5)
    model_dir = os.path.join(out, "model")
    pipe.save_pretrained(model_dir, safe_serialization=True, max_shard_size="300KB")

    from safetensors.torch import save_file
    with torch.no_grad():
        pe, npe, pp, npp = pipe.encode_prompt(
            prompt=PROMPTS, prompt_2=None, prompt_3=None, device=torch.device("cpu"), num_images_per_prompt=1,
            do_classifier_free_guidance=True, negative_prompt="", max_sequence_length=length)
        pe_skip, _, _, _ = pipe.encode_prompt(
            prompt=PROMPTS[:2], prompt_2=None, prompt_3=None, device=torch.device("cpu"), num_images_per_prompt=1,
            do_classifier_free_guidance=False, max_sequence_length=length, clip_skip=1)
        latents = torch.randn(2, 16, 16, 16, generator=gen)
        z = latents / vae.config.scaling_factor + vae.config.shift_factor
        image = vae.decode(z).sample
        image01 = pipe.image_processor.postprocess(image, output_type="pt")
    save_file({
        "output.prompt_embeds": pe.contiguous(), "output.negative_prompt_embeds": npe.contiguous(),
        "output.pooled_prompt_embeds": pp.contiguous(), "output.negative_pooled_prompt_embeds": npp.contiguous(),
        "output.prompt_embeds_clip_skip1": pe_skip.contiguous(),
        "input.latents": latents.contiguous(), "output.image01": image01.contiguous(),
    }, os.path.join(out, "io.safetensors"))
    with open(os.path.join(out, "case.json"), "w") as f:
        json.dump({"seed": seed, "max_sequence_length": length, "resolution": 32, "prompts": PROMPTS,
                   "t5_prepend_scheme": tok_t5.backend_tokenizer.pre_tokenizer.prepend_scheme,
                   "hidden": [hidden_l, hidden_g], "d_model": d_model}, f, indent=1)


if __name__ == "__main__":
    main()
