"""Generates the full-size benchmark inputs once, into bench/.work/ (git-ignored):

  bench/.work/clip-vit-l-14-random/   a random-weight ViT-L/14 vision tower in Hugging Face format,
      config.json                     CLIPVisionModelWithProjection with the vision hyper-parameters of
                                      laion/CLIP-ViT-L-14-laion2B-s32B-b82K (hidden 1024, 24 layers,
                                      16 heads, MLP 4096, patch 14, image 224, gelu, eps 1e-5, proj 768)
      preprocessor_config.json        the LAION repo's old CLIPFeatureExtractor-style config (0.5 / 0.5)
      model.safetensors               fp32, transformers parameter names, written by hand
  bench/.work/sae/22_resid/bench.pt   a CLIP-Scope-format TopK SAE (d_in 1024, 65,536 features, k 32,
                                      dec = enc.t().clone(): strides (1, 65536), like the real files)
  bench/.work/full-size.json          completion marker: every file with its size (written last)

Weights are random with sane scales (std 0.02, LayerNorm weight 1, bias 0) so nothing overflows or
goes denormal. Skips everything when the marker is present and every listed file has its size.
Run with /usr/bin/python3 (Debian's torch). Prints progress: it writes ~1.75 GB.
"""
from __future__ import annotations

import json
import os
import struct
import sys
import time
from collections import OrderedDict

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, ".work")
MODEL_DIR = os.path.join(WORK, "clip-vit-l-14-random")
SAE_FILE = os.path.join(WORK, "sae", "22_resid", "bench.pt")
MARKER = os.path.join(WORK, "full-size.json")
FORMAT_VERSION = 1

D, LAYERS, HEADS, MLP, PATCH, IMAGE, PROJ, CH = 1024, 24, 16, 4096, 14, 224, 768, 3
T = (IMAGE // PATCH) ** 2 + 1
SAE_F, SAE_K = 65536, 32
SEED = 20240501

CONFIG = {  # vision_config of laion/CLIP-ViT-L-14-laion2B-s32B-b82K, as a vision-only checkpoint
    "architectures": ["CLIPVisionModelWithProjection"], "attention_dropout": 0.0, "dropout": 0.0,
    "hidden_act": "gelu", "hidden_size": D, "image_size": IMAGE, "initializer_factor": 1.0,
    "initializer_range": 0.02, "intermediate_size": MLP, "layer_norm_eps": 1e-05,
    "model_type": "clip_vision_model", "num_attention_heads": HEADS, "num_channels": CH,
    "num_hidden_layers": LAYERS, "patch_size": PATCH, "projection_dim": PROJ,
    "torch_dtype": "float32", "transformers_version": "4.24.0",
}
PREPROC = {  # the LAION repo's 275-byte preprocessor_config.json (old CLIPFeatureExtractor style)
    "crop_size": 224, "do_center_crop": True, "do_normalize": True, "do_resize": True,
    "feature_extractor_type": "CLIPFeatureExtractor", "image_mean": [0.5, 0.5, 0.5],
    "image_std": [0.5, 0.5, 0.5], "resample": 3, "size": 224,
}


def vision_param_shapes() -> "OrderedDict[str, tuple]":
    """transformers' parameter names for CLIPVisionModelWithProjection (vision_model.* + projection)."""
    p: "OrderedDict[str, tuple]" = OrderedDict()
    v = "vision_model."
    p[v + "embeddings.class_embedding"] = (D,)
    p[v + "embeddings.patch_embedding.weight"] = (D, CH, PATCH, PATCH)
    p[v + "embeddings.position_embedding.weight"] = (T, D)
    p[v + "pre_layrnorm.weight"] = (D,)
    p[v + "pre_layrnorm.bias"] = (D,)
    for i in range(LAYERS):
        b = f"{v}encoder.layers.{i}."
        for proj in ("k_proj", "v_proj", "q_proj", "out_proj"):
            p[b + f"self_attn.{proj}.weight"] = (D, D)
            p[b + f"self_attn.{proj}.bias"] = (D,)
        p[b + "layer_norm1.weight"] = (D,)
        p[b + "layer_norm1.bias"] = (D,)
        p[b + "mlp.fc1.weight"] = (MLP, D)
        p[b + "mlp.fc1.bias"] = (MLP,)
        p[b + "mlp.fc2.weight"] = (D, MLP)
        p[b + "mlp.fc2.bias"] = (D,)
        p[b + "layer_norm2.weight"] = (D,)
        p[b + "layer_norm2.bias"] = (D,)
    p[v + "post_layernorm.weight"] = (D,)
    p[v + "post_layernorm.bias"] = (D,)
    p["visual_projection.weight"] = (PROJ, D)
    return p


def init_value(name: str, shape: tuple, g: torch.Generator) -> torch.Tensor:
    norm = "layer_norm" in name or "layrnorm" in name or "layernorm" in name
    if norm and name.endswith("weight"):
        return torch.ones(shape, dtype=torch.float32)
    if name.endswith("bias"):
        return torch.zeros(shape, dtype=torch.float32) if norm else torch.randn(shape, generator=g) * 0.01
    return torch.randn(shape, generator=g) * 0.02


def numel(shape: tuple) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def is_complete() -> bool:
    try:
        with open(MARKER) as f:
            m = json.load(f)
        if m.get("version") != FORMAT_VERSION:
            return False
        return all(os.path.getsize(os.path.join(WORK, rel)) == size for rel, size in m["files"].items())
    except (OSError, ValueError, KeyError):
        return False


def write_json(path: str, obj: object) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        f.write(json.dumps(obj, indent=2, sort_keys=True) + "\n")
    os.replace(path + ".tmp", path)


class Progress:
    def __init__(self, what: str, total: int):
        self.what, self.total, self.done, self.t0, self.last = what, total, 0, time.time(), -1

    def add(self, n: int) -> None:
        self.done += n
        pct = int(100 * self.done / self.total)
        if pct // 10 != self.last // 10 or self.done == self.total:
            self.last = pct
            mb = self.done / 2**20
            print(f"  {self.what}: {pct:3d}% ({mb:,.0f} MiB, {time.time() - self.t0:.1f} s)", flush=True)


def write_safetensors(path: str) -> None:
    shapes = vision_param_shapes()
    # safetensors layout: by decreasing element size, then name (all F32 here -> by name).
    names = sorted(shapes)
    header: dict = {}
    off = 0
    for n in names:
        size = numel(shapes[n]) * 4
        header[n] = {"dtype": "F32", "shape": list(shapes[n]), "data_offsets": [off, off + size]}
        off += size
    header["__metadata__"] = {"format": "pt"}
    hjson = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    g = torch.Generator().manual_seed(SEED)
    prog = Progress("model.safetensors", off)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for n in names:
            t = init_value(n, shapes[n], g).contiguous()
            assert t.dtype == torch.float32 and sys.byteorder == "little"
            f.write(t.numpy().tobytes())
            prog.add(t.numel() * 4)
    os.replace(tmp, path)


def write_sae(path: str) -> None:
    print(f"  {os.path.relpath(path, HERE)}: generating enc [{D}, {SAE_F}] ...", flush=True)
    g = torch.Generator().manual_seed(SEED + 1)
    m = torch.nn.Module()
    m.pre_b = torch.nn.Parameter(torch.randn(D, generator=g) * 0.02)
    enc = torch.randn(D, SAE_F, generator=g) * 0.02
    m.enc = torch.nn.Parameter(enc)
    m.dec = torch.nn.Parameter(enc.t().clone())  # strides (1, F), exactly like the real checkpoints
    sd = m.state_dict()  # OrderedDict with _metadata, like clipscope's
    assert sd["dec"].stride() == (1, SAE_F), sd["dec"].stride()
    ckpt = {
        "model_state_dict": sd, "k": SAE_K, "d_in": D, "n_features": SAE_F,
        "token_count": 1_000_000, "n_iter": 1000, "dead_latents": torch.zeros(SAE_F),
        "log_id": "22_resid-bench000",
    }
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    if os.path.exists(tmp):
        os.remove(tmp)
    print(f"  {os.path.relpath(path, HERE)}: torch.save (~537 MB) ...", flush=True)
    t0 = time.time()
    torch.save(ckpt, tmp)
    os.replace(tmp, path)
    print(f"  {os.path.relpath(path, HERE)}: written in {time.time() - t0:.1f} s", flush=True)


def main() -> int:
    if is_complete():
        print(f"full-size model and SAE already in {os.path.relpath(WORK, os.getcwd())} (marker ok)")
        return 0
    torch.set_num_threads(2)
    if os.path.exists(MARKER):
        os.remove(MARKER)
    t0 = time.time()
    print(f"generating a random-weight ViT-L/14 + layer-22 SAE into {os.path.relpath(WORK, os.getcwd())} ...", flush=True)
    os.makedirs(MODEL_DIR, exist_ok=True)
    write_json(os.path.join(MODEL_DIR, "config.json"), CONFIG)
    write_json(os.path.join(MODEL_DIR, "preprocessor_config.json"), PREPROC)
    write_safetensors(os.path.join(MODEL_DIR, "model.safetensors"))
    write_sae(SAE_FILE)
    files = {}
    for p in (os.path.join(MODEL_DIR, "config.json"), os.path.join(MODEL_DIR, "preprocessor_config.json"),
              os.path.join(MODEL_DIR, "model.safetensors"), SAE_FILE):
        files[os.path.relpath(p, WORK)] = os.path.getsize(p)
    write_json(MARKER, {"version": FORMAT_VERSION, "seed": SEED, "files": files})
    print(f"done in {time.time() - t0:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
