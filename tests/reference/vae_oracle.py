#!/usr/bin/env python3
"""The live diffusers reference for flowgrpo's AutoencoderKL `reference` tests.

  vae_oracle.py SEED OUT_DIR

draws, from SEED, one small random AutoencoderKL per row of COVERAGE (so that
every run has quant convs on, off and mixed, 1 to 3 levels, 1 or 2 layers per
block, with and without mid-block attention, current and legacy attention
names), gives it random non-trivial weights and writes, for case K:

  OUT_DIR/case_K/vae/{config.json, diffusion_pytorch_model.safetensors}
      by diffusers' save_pretrained; for a legacy case the weights file is
      rewritten with the mid-block attention keys under their pre-refactor names
      (query / key / value / proj_attn), and the oracle checks that diffusers
      itself loads that folder to the same outputs;
  OUT_DIR/case_K/io.safetensors
      input.image [B, in, H, W] in [-1, 1] -> output.encode_mean / _logvar / _std
      (encode(image).latent_dist), input.z -> output.decoded (decode(z).sample),
      input.latents (model space) -> output.pipeline_decoded
      (decode(latents / scaling + shift)) and output.pipeline_image01
      (clamp(x * 0.5 + 0.5, 0, 1), as the SD3 pipeline post-processes);

and OUT_DIR/cases.json with each case's config and flags.
"""
import math
import os
import sys

import torch
from safetensors.torch import load_file, save_file

from oracle_common import run_coverage, save_io

# (levels, layers_per_block, quant convs, legacy names, mid-block attention)
COVERAGE = [
    (1, 1, "on", False, True),
    (2, 2, "off", True, True),
    (3, 1, "on", True, True),
    (2, 1, "mixed", False, False),
    (3, 2, "off", False, True),
    (1, 2, "mixed", True, True),
]

LEGACY = {"to_q": "query", "to_k": "key", "to_v": "value", "to_out.0": "proj_attn"}


def _perturb(module, gen):
    """Random, non-trivial weights everywhere: norm scales != 1, biases != 0."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            if name.endswith("weight") and p.dim() == 1:  # GroupNorm scales
                p.copy_(1.0 + 0.2 * noise)
            elif p.dim() == 1:  # biases
                p.copy_(0.1 * noise)
            else:
                fan_in = math.prod(p.shape[1:])
                p.copy_(noise / math.sqrt(fan_in))


def _legacy_rename(path):
    """Rewrites a weights file with the mid-block attention keys under their legacy names."""
    tensors = load_file(path)
    out = {}
    for k, v in tensors.items():
        new = k
        if ".mid_block.attentions." in k:
            for current, legacy in LEGACY.items():
                marker = "." + current + "."
                if marker in k:
                    new = k.replace(marker, "." + legacy + ".")
        out[new] = v.contiguous()
    assert any(".query." in k for k in out), "no attention to rename"
    save_file(out, path, metadata={"format": "pt"})


def _run(model, image, z, latents, scaling, shift):
    with torch.no_grad():
        dist = model.encode(image).latent_dist
        decoded = model.decode(z).sample
        pipeline_decoded = model.decode(latents / scaling + shift).sample
    return {
        "output.encode_mean": dist.mean,
        "output.encode_logvar": dist.logvar,
        "output.encode_std": dist.std,
        "output.decoded": decoded,
        "output.pipeline_decoded": pipeline_decoded,
        "output.pipeline_image01": (pipeline_decoded * 0.5 + 0.5).clamp(0, 1),
    }


def make_case(r, gen, case_dir, levels, layers, quant, legacy, attention):
    from diffusers import AutoencoderKL

    groups = r.choice([1, 2, 4])
    channels = [groups * r.randint(1, 4) for _ in range(levels)]
    if quant == "mixed":
        use_quant, use_post_quant = r.choice([(True, False), (False, True)])
    else:
        use_quant = use_post_quant = quant == "on"
    config = dict(
        in_channels=r.choice([1, 3, 4]),
        out_channels=r.choice([1, 3, 4]),
        down_block_types=["DownEncoderBlock2D"] * levels,
        up_block_types=["UpDecoderBlock2D"] * levels,
        block_out_channels=channels,
        layers_per_block=layers,
        act_fn="silu",
        latent_channels=r.choice([1, 2, 4, 16]),
        norm_num_groups=groups,
        sample_size=r.choice([16, 32]),
        scaling_factor=round(r.uniform(0.2, 2.0), 4),
        shift_factor=None if r.random() < 0.3 else round(r.uniform(-0.2, 0.2), 4),
        use_quant_conv=use_quant,
        use_post_quant_conv=use_post_quant,
        mid_block_add_attention=attention,
    )
    model = AutoencoderKL(**config).eval()
    _perturb(model, gen)
    vae_dir = os.path.join(case_dir, "vae")
    model.save_pretrained(vae_dir, safe_serialization=True)

    factor = 2 ** (levels - 1)
    batch = r.randint(1, 3)
    # Latent size (the image is factor times larger); at least 2 positions, as
    # torch's group_norm refuses to normalise a single value per group.
    h, w = r.choice([(1, 2), (2, 1), (2, 2), (2, 3), (3, 2), (3, 3), (1, 3)])
    image = torch.rand(batch, config["in_channels"], h * factor, w * factor, generator=gen) * 2 - 1
    z = torch.randn(batch, config["latent_channels"], h, w, generator=gen)
    latents = torch.randn(batch, config["latent_channels"], h, w, generator=gen)
    shift = config["shift_factor"] or 0.0
    outputs = _run(model, image, z, latents, config["scaling_factor"], shift)

    if legacy:
        _legacy_rename(os.path.join(vae_dir, "diffusion_pytorch_model.safetensors"))
        # diffusers maps the legacy names itself; the folder must mean the same model to it.
        reloaded = AutoencoderKL.from_pretrained(vae_dir, torch_dtype=torch.float32).eval()
        again = _run(reloaded, image, z, latents, config["scaling_factor"], shift)
        for k, v in outputs.items():
            assert torch.equal(v, again[k]), "diffusers reads the legacy folder differently: " + k

    tensors = {"input.image": image, "input.z": z, "input.latents": latents}
    tensors.update(outputs)
    save_io(tensors, case_dir)
    return {"dir": os.path.basename(case_dir), "config": config, "legacy_names": legacy, "batch": batch}


def main(argv):
    return run_coverage(argv, __doc__, COVERAGE, make_case)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
