#!/usr/bin/env python3
"""The live transformers reference for flowgrpo's CLIPTextModelWithProjection `reference` tests.

  clip_oracle.py SEED OUT_DIR

draws, from SEED, one small random CLIPTextConfig per row of COVERAGE (so that
every run has quick_gelu, gelu and both tanh-gelu spellings, legacy
(eos_token_id 2: argmax pooling) and current (first == eos_token_id) pooling,
1 to 3 layers, a sharded checkpoint and a bfloat16 one), with random widths,
heads, MLP and projection sizes, vocabularies and position counts, gives it
random non-trivial weights (LayerNorm scales away from 1, biases away from 0)
and writes, for case K:

  OUT_DIR/case_K/{config.json, model.safetensors | model.safetensors.index.json + shards}
      by transformers' save_pretrained (bfloat16 cases save bfloat16 weights;
      the reference then runs in float32 on those rounded weights);
  OUT_DIR/case_K/io.safetensors
      input.input_ids [B, S] (S <= max_position_embeddings; rows with one EOS,
      several EOS, EOS as padding, and a row without EOS: under legacy pooling
      argmax then picks the first of several next-largest ids, under current
      pooling position 0) -> output.hidden_states.{0..N},
      output.last_hidden_state, output.pooler_output, output.text_embeds and
      output.eos_index (the pooled positions), from
      CLIPTextModelWithProjection(input_ids, output_hidden_states=True) with no
      attention mask, as SD3 calls it;

and OUT_DIR/cases.json with each case's config and flags.
"""
import math
import os
import sys

import torch

from oracle_common import run_coverage, save_io

# (hidden_act, legacy pooling, layers, storage)
COVERAGE = [
    ("quick_gelu", True, 2, "single"),
    ("gelu", False, 3, "single"),
    ("gelu_new", True, 1, "sharded"),
    ("gelu_pytorch_tanh", False, 2, "single"),
    ("quick_gelu", False, 1, "bfloat16"),
    ("gelu", True, 3, "sharded"),
]


def _perturb(model, gen):
    """Random, non-trivial weights everywhere: LayerNorm scales != 1, biases != 0."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            if "layer_norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.2 * noise)
            elif p.dim() == 1:  # biases
                p.copy_(0.1 * noise)
            elif "embedding" in name:
                p.copy_(0.5 * noise)
            else:
                p.copy_(noise / math.sqrt(p.shape[1]))


def _input_ids(r, gen, batch, seq, vocab, eos, legacy):
    """Random ids in [0, vocab) with end-of-text tokens placed as the tokenizers do and worse."""
    # The largest id plays EOS under legacy pooling (argmax), as 49407 does in CLIP's vocabulary.
    end = vocab - 1 if legacy else eos
    ids = torch.randint(0, vocab, (batch, seq), generator=gen)
    if not legacy:
        ids[ids == end] = (end + 1) % vocab  # EOS only where placed below
    for b in range(batch):
        kind = ("one", "padded", "several", "none")[b % 4]
        pos = r.randrange(seq)
        if kind == "one":
            ids[b, pos] = end
        elif kind == "padded":  # CLIP-L's tokenizer: EOS, then EOS as padding
            ids[b, pos:] = end
        elif kind == "several":
            for p in r.sample(range(seq), min(seq, 3)):
                ids[b, p] = end
        elif legacy:  # no largest id: argmax picks the first of the next largest
            row = ids[b]
            row[row == end] = end - 1
        # current pooling, "none": no EOS at all, position 0 is pooled
    return ids


def make_case(r, gen, case_dir, act, legacy, layers, storage):
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection

    heads = r.choice([1, 2, 4])
    head_dim = r.choice([4, 8, 16])
    hidden = heads * head_dim
    vocab = r.randint(50, 700)
    positions = r.randint(8, 77)
    if legacy:
        eos = 2
    else:
        eos = r.choice([vocab - 1, r.randrange(3, vocab)])
    config = CLIPTextConfig(
        vocab_size=vocab,
        hidden_size=hidden,
        intermediate_size=r.choice([hidden, 2 * hidden, 4 * hidden, hidden + 12]),
        projection_dim=r.choice([hidden, r.randint(4, 48)]),
        num_hidden_layers=layers,
        num_attention_heads=heads,
        max_position_embeddings=positions,
        hidden_act=act,
        layer_norm_eps=r.choice([1e-5, 1e-6, 1e-3]),
        bos_token_id=r.randrange(vocab),
        pad_token_id=1,
        eos_token_id=eos,
        attn_implementation="eager",
    )
    model = CLIPTextModelWithProjection(config).eval()
    _perturb(model, gen)
    if storage == "bfloat16":
        model = model.to(torch.bfloat16)
    save_kwargs = {"safe_serialization": True}
    if storage == "sharded":
        total = sum(p.numel() * p.element_size() for p in model.parameters())
        save_kwargs["max_shard_size"] = max(1, total // 3)  # bytes: at least two shards
    model.save_pretrained(case_dir, **save_kwargs)
    if storage == "sharded":
        assert os.path.exists(os.path.join(case_dir, "model.safetensors.index.json")), "not sharded"
    model = model.float()

    batch = r.randint(4, 5)  # every kind of row in _input_ids
    seq = r.randint(2, positions)
    ids = _input_ids(r, gen, batch, seq, vocab, eos, legacy)
    with torch.no_grad():
        out = model(input_ids=ids, output_hidden_states=True)
    if legacy:
        eos_index = ids.argmax(-1)
    else:
        eos_index = (ids == eos).int().argmax(-1)
    last = out.last_hidden_state
    assert torch.equal(last[torch.arange(batch), eos_index], model.text_model(input_ids=ids).pooler_output)

    tensors = {"input.input_ids": ids, "output.last_hidden_state": last, "output.text_embeds": out.text_embeds,
               "output.pooler_output": last[torch.arange(batch), eos_index], "output.eos_index": eos_index}
    for k, h in enumerate(out.hidden_states):
        tensors["output.hidden_states.%d" % k] = h
    save_io(tensors, case_dir)
    summary = {k: getattr(config, k) for k in (
        "vocab_size", "hidden_size", "intermediate_size", "projection_dim", "num_hidden_layers",
        "num_attention_heads", "max_position_embeddings", "hidden_act", "layer_norm_eps", "eos_token_id")}
    return {"dir": os.path.basename(case_dir), "config": summary, "legacy_pooling": legacy, "storage": storage,
            "batch": batch, "seq": seq}


def main(argv):
    return run_coverage(argv, __doc__, COVERAGE, make_case)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
