#!/usr/bin/env python3
"""The live transformers reference for flowgrpo's T5EncoderModel `reference` tests.

  t5_oracle.py SEED OUT_DIR

draws, from SEED, one small random T5EncoderModel per row of COVERAGE (so that
every run has gated-gelu, relu, gated-silu, gated-relu and plain gelu
feed-forwards, an inner width num_heads * d_kv equal to and different from
d_model, single-file and sharded weights), with random bucket counts, maximum
distances (often shorter than the sequence, so the logarithmic and the clamped
buckets are reached), layer counts, epsilons and non-trivial weights (norm
scales away from 1), and writes, for case K:

  OUT_DIR/case_K/{config.json, model.safetensors | model-0000k-of-0000n.safetensors
      + model.safetensors.index.json}
      by transformers' save_pretrained (sharded with a small max_shard_size);
  OUT_DIR/case_K/io.safetensors
      input.input_ids [B, S] int64 (padding id 0), input.attention_mask [B, S]
      (1 = token, 0 = padding; random lengths, one case with a row of zeros) ->
      output.last_hidden_state and output.hidden_states.{0..L} without a mask
      (as SD3 / FLUX call the encoder), output_masked.* with the mask,
      inter.position_bias (block 0's compute_bias, [1, H, S, S]),
      inter.relative_position_bucket [S, S], and the same model loaded by
      from_pretrained(torch_dtype=bfloat16 / float16) -> output_bf16.last_hidden_state,
      output_fp16.last_hidden_state (with transformers' float32 `wo` in float16);

and OUT_DIR/cases.json with each case's config and flags.
"""
import math
import os
import sys

import torch

from oracle_common import run_coverage, save_io

# (feed_forward_proj, sharded, inner width == d_model, sequence length, a fully padded row)
# Lengths: "one" = 1 token; "short" = 2-8; "long" = beyond max_distance, so the
# clamped last bucket of each direction is reached.
COVERAGE = [
    ("gated-gelu", True, False, "long", False),
    ("relu", False, True, "short", False),
    ("gated-gelu", False, True, "one", False),
    ("gated-silu", True, False, "long", False),
    ("gated-relu", False, False, "long", True),
    ("gelu", True, True, "short", False),
]


def _perturb(model, gen):
    """Random, non-trivial weights: norm scales away from 1, embeddings and the
    relative position table of order 1, projections scaled by their fan-in."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            if p.dim() == 1:  # T5LayerNorm scales
                p.copy_(1.0 + 0.3 * noise)
            elif name.endswith("relative_attention_bias.weight"):
                p.copy_(noise)
            elif name.startswith("shared."):
                p.copy_(noise)
            else:
                p.copy_(noise / math.sqrt(p.shape[1]))


def _run(model, ids, mask, hidden):
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, output_hidden_states=hidden)
    return out


def make_case(r, gen, case_dir, ff, sharded, inner_equal, length, padded_row):
    from transformers import T5Config, T5EncoderModel
    from transformers.models.t5.modeling_t5 import T5Attention

    heads = r.choice([1, 2, 3, 4])
    d_kv = r.choice([4, 8, 16])
    d_model = heads * d_kv if inner_equal else r.choice([12, 20, 24, 40])
    if not inner_equal and d_model == heads * d_kv:
        d_model += 4
    buckets = r.choice([4, 8, 16, 32, 48])
    max_exact = buckets // 4
    max_distance = r.choice([max_exact + 1, 2 * max_exact + 3, 20, 64, 128])
    config = dict(
        vocab_size=r.choice([64, 100, 250]),
        d_model=d_model,
        d_kv=d_kv,
        d_ff=r.choice([16, 24, 36, 48]),
        num_layers=r.randint(1, 3),
        num_heads=heads,
        relative_attention_num_buckets=buckets,
        relative_attention_max_distance=max_distance,
        layer_norm_epsilon=r.choice([1e-6, 1e-5, 1e-3]),
        feed_forward_proj=ff,
        dropout_rate=0.0,
    )
    model = T5EncoderModel(T5Config(**config)).eval()
    _perturb(model, gen)
    shard = "2KB" if sharded else "10GB"
    model.save_pretrained(case_dir, safe_serialization=True, max_shard_size=shard)
    index = os.path.join(case_dir, "model.safetensors.index.json")
    assert os.path.exists(index) == sharded, "sharding not as intended in " + case_dir

    batch = r.randint(2, 3) if padded_row else r.randint(1, 3)
    seq = {"one": 1, "short": r.randint(2, 8), "long": r.randint(max_distance + 1, max_distance + 40)}[length]
    ids = torch.randint(0, config["vocab_size"], (batch, seq), generator=gen)
    mask = torch.ones(batch, seq, dtype=torch.long)
    for b in range(batch):
        mask[b, r.randint(1, seq):] = 0
    if padded_row:
        mask[batch - 1] = 0  # a fully padded row: every score gets finfo.min
    ids = ids * mask  # padding is id 0, as the T5 tokenizer pads

    plain = _run(model, ids, None, True)
    masked = _run(model, ids, mask, True)
    attention = model.encoder.block[0].layer[0].SelfAttention
    bias = attention.compute_bias(seq, seq)
    rel = torch.arange(seq)[None, :] - torch.arange(seq)[:, None]
    buckets_t = T5Attention._relative_position_bucket(
        rel, bidirectional=True, num_buckets=buckets, max_distance=max_distance)

    tensors = {
        "input.input_ids": ids,
        "input.attention_mask": mask,
        "output.last_hidden_state": plain.last_hidden_state,
        "output_masked.last_hidden_state": masked.last_hidden_state,
        "inter.position_bias": bias,
        "inter.relative_position_bucket": buckets_t,
    }
    for k, h in enumerate(plain.hidden_states):
        tensors["output.hidden_states.%d" % k] = h
    for k, h in enumerate(masked.hidden_states):
        tensors["output_masked.hidden_states.%d" % k] = h

    # transformers' own half-precision paths, from the saved folder.
    for tag, dtype in (("bf16", torch.bfloat16), ("fp16", torch.float16)):
        half = T5EncoderModel.from_pretrained(case_dir, torch_dtype=dtype).eval()
        wo = half.encoder.block[0].layer[1].DenseReluDense.wo.weight.dtype
        assert wo == (torch.float32 if dtype == torch.float16 else dtype), (tag, wo)
        tensors["output_%s.last_hidden_state" % tag] = _run(half, ids, None, False).last_hidden_state

    save_io(tensors, case_dir)
    return {"dir": os.path.basename(case_dir), "config": config, "sharded": sharded,
            "batch": batch, "seq": seq, "padded_row": padded_row}


def main(argv):
    from transformers.utils import logging

    logging.disable_progress_bar()
    return run_coverage(argv, __doc__, COVERAGE, make_case)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
