"""PyTorch reference pipeline for the encode benchmark (bench/encode.ts runs it and reads its JSON).

What it times, per batch size, over the same photos and the same weights as the Node engine:
  PIL preprocessing with transformers' CLIPImageProcessor semantics (load_image: exif_transpose +
  convert RGB; shortest side -> 224 with PIL bicubic, other side int(224 * long / short); centre
  crop 224; float64 x / 255 -> float32; (x - mean) / std; CHW)
  + an independent torch CLIP vision forward (transformers' CLIPVisionTransformer semantics, all 24
  blocks + post_layernorm + visual_projection), layer 22 captured by a forward hook on
  vision_model.encoder.layers[22] as clipscope taps (22, 'resid')
  + the CLIP-Scope TopK SAE: pre = (x - pre_b) @ enc, top-k (no ReLU); decode sum_i val_i * dec[idx_i]
  + pre_b (dec made contiguous once at load, as the engine does); per-image MSE / EV / L0.
Everything runs in one Python thread of control with torch.set_num_threads(threads) (default 2).

Usage: /usr/bin/python3 bench/torch_pipeline.py --model-dir D --sae F --out OUT.json
          [--batch-sizes 1,2,4,8] [--images N] [--threads 2] [--max-wait S] [--serve] PHOTO...
A batch is "clean" when other processes used < 0.1 cores meanwhile (as in bench/lib/cpu.ts).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import struct
import sys
import time

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from PIL import Image, ImageOps
except ImportError as e:  # reported by the Node side as a skip
    print(json.dumps({"skipped": f"{sys.executable} lacks a package: {e}"}))
    sys.exit(3)


# ----------------------------------------------------------------------------- weights

def read_safetensors(path: str) -> dict:
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        buf = bytearray(f.read())  # writable, so torch.frombuffer does not warn
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (name, info["dtype"])
        a, b = info["data_offsets"]
        out[name] = torch.frombuffer(buf, dtype=torch.float32, offset=a, count=(b - a) // 4).view(info["shape"])
    return out


# ----------------------------------------------------------------------------- preprocessing

def shortest_edge(size) -> int:
    return size if isinstance(size, int) else int(size["shortest_edge"])


def crop_hw(crop):
    return (crop, crop) if isinstance(crop, int) else (int(crop["height"]), int(crop["width"]))


def preprocess(path: str, cfg: dict) -> np.ndarray:
    im = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    w, h = im.size
    s = shortest_edge(cfg["size"])
    if w <= h:
        nw, nh = s, int(s * h / w)
    else:
        nw, nh = int(s * w / h), s
    im = im.resize((nw, nh), resample=cfg.get("resample", 3))
    arr = np.asarray(im, dtype=np.uint8)
    ch, cw = crop_hw(cfg["crop_size"])
    top, left = (nh - ch) // 2, (nw - cw) // 2
    assert top >= 0 and left >= 0, "photos smaller than the crop are not part of this benchmark"
    arr = arr[top:top + ch, left:left + cw]
    x = (arr.astype(np.float64) * float(cfg.get("rescale_factor", 1 / 255))).astype(np.float32)
    x = (x - np.array(cfg["image_mean"], dtype=np.float32)) / np.array(cfg["image_std"], dtype=np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


# ----------------------------------------------------------------------------- model

class SelfAttention(nn.Module):
    def __init__(self, d: int, heads: int):
        super().__init__()
        self.heads, self.head_dim = heads, d // heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x):
        b, t, d = x.shape
        q = (self.q_proj(x) * self.head_dim ** -0.5).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        p = torch.softmax(q @ k.transpose(-1, -2), dim=-1)
        return self.out_proj((p @ v).transpose(1, 2).reshape(b, t, d))


class Mlp(nn.Module):
    def __init__(self, d: int, m: int, act: str):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(d, m), nn.Linear(m, d)
        self.act = act

    def forward(self, x):
        h = self.fc1(x)
        h = F.gelu(h) if self.act == "gelu" else h * torch.sigmoid(1.702 * h)
        return self.fc2(h)


class Layer(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        d, eps = c["hidden_size"], c["layer_norm_eps"]
        self.self_attn = SelfAttention(d, c["num_attention_heads"])
        self.layer_norm1 = nn.LayerNorm(d, eps=eps)
        self.mlp = Mlp(d, c["intermediate_size"], c["hidden_act"])
        self.layer_norm2 = nn.LayerNorm(d, eps=eps)

    def forward(self, x):
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class Embeddings(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        d, p = c["hidden_size"], c["patch_size"]
        self.class_embedding = nn.Parameter(torch.empty(d))
        self.patch_embedding = nn.Conv2d(c["num_channels"], d, p, stride=p, bias=False)
        self.position_embedding = nn.Embedding((c["image_size"] // p) ** 2 + 1, d)

    def forward(self, px):
        patches = self.patch_embedding(px).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(px.shape[0], 1, -1)
        return torch.cat([cls, patches], dim=1) + self.position_embedding.weight


class EncoderStack(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        self.layers = nn.ModuleList(Layer(c) for _ in range(c["num_hidden_layers"]))


class VisionModel(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        d, eps = c["hidden_size"], c["layer_norm_eps"]
        self.embeddings = Embeddings(c)
        self.pre_layrnorm = nn.LayerNorm(d, eps=eps)
        self.encoder = EncoderStack(c)
        self.post_layernorm = nn.LayerNorm(d, eps=eps)


class ClipVision(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        self.vision_model = VisionModel(c)
        self.visual_projection = nn.Linear(c["hidden_size"], c["projection_dim"], bias=False)

    def forward(self, px):
        vm = self.vision_model
        x = vm.pre_layrnorm(vm.embeddings(px))
        for layer in vm.encoder.layers:
            x = layer(x)
        return self.visual_projection(vm.post_layernorm(x[:, 0, :]))


def load_model(model_dir: str):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    vc = cfg.get("vision_config", cfg)
    vc = {"hidden_act": "quick_gelu", "layer_norm_eps": 1e-5, "num_channels": 3, **vc}
    vc["projection_dim"] = cfg.get("projection_dim", vc.get("projection_dim"))
    model = ClipVision(vc)
    sd = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    sd = {k: v for k, v in sd.items() if k.startswith(("vision_model.", "visual_projection."))}
    sd = {k: v for k, v in sd.items() if not k.endswith("position_ids")}
    model.load_state_dict(sd, strict=True)
    model.eval()
    with open(os.path.join(model_dir, "preprocessor_config.json")) as f:
        pre = json.load(f)
    return model, vc, pre


# ----------------------------------------------------------------------------- SAE

def load_sae(path: str):
    ck = torch.load(path, map_location="cpu")
    sd = ck["model_state_dict"]
    pre_b, enc, dec = sd["pre_b"], sd["enc"], sd["dec"]
    return {"pre_b": pre_b.contiguous(), "enc": enc.contiguous(), "dec": dec.contiguous(), "k": int(ck["k"])}


def sae_encode_decode(x: torch.Tensor, sae: dict):
    """x [N, d] -> (val [N, k], idx [N, k], recon [N, d])."""
    pre = (x - sae["pre_b"]) @ sae["enc"]
    val, idx = torch.topk(pre, sae["k"], dim=-1, sorted=True)
    recon = (val.unsqueeze(-1) * sae["dec"][idx]).sum(-2) + sae["pre_b"]
    return val, idx, recon


def image_metrics(x: torch.Tensor, recon: torch.Tensor, val: torch.Tensor) -> dict:
    x64, r64 = x.double(), recon.double()
    sse = ((x64 - r64) ** 2).sum(-1)
    tot = ((x64 - x64.mean(-1, keepdim=True)) ** 2).sum(-1)
    return {"mse": float(sse.mean()), "ev": float((1 - sse / tot).mean()), "l0": float((val > 0).sum(-1).double().mean())}


# ----------------------------------------------------------------------------- CPU accounting

CLEAN_OTHER_CORES = 0.1  # same rule as bench/lib/cpu.ts


def cpu_snapshot():
    """(wall s, own CPU s of all threads, machine busy s or None)."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        busy = (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        busy = None
    return time.perf_counter(), ru.ru_utime + ru.ru_stime, busy


def other_cores(a, b):
    if a[2] is None or b[2] is None:
        return None
    wall = b[0] - a[0]
    return max(0.0, (b[2] - a[2]) - (b[1] - a[1])) / wall


def is_clean(oc):
    return oc is None or oc < CLEAN_OTHER_CORES


def wait_quiet(max_s: float) -> float:
    t0 = time.perf_counter()
    while True:
        a = cpu_snapshot()
        time.sleep(0.5)
        if is_clean(other_cores(a, cpu_snapshot())) or time.perf_counter() - t0 >= max_s:
            return time.perf_counter() - t0


# ----------------------------------------------------------------------------- benchmark

def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--sae", required=True)
    ap.add_argument("--layer", type=int, default=22)
    ap.add_argument("--out", required=True)
    ap.add_argument("--batch-sizes", default="1,2,4,8")
    ap.add_argument("--images", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-wait", type=float, default=0.0, help="seconds to wait in all for other processes to go quiet")
    ap.add_argument("--time-budget", type=float, default=0.0,
                    help="seconds for all batch sizes (0: no limit); a batch size stops early, after >= 1 batch, at its share")
    ap.add_argument("--serve", action="store_true",
                    help="after the series, stay loaded and time passes requested on stdin (see serve())")
    ap.add_argument("photos", nargs="+")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t0 = time.time()
    model, vc, pre_cfg = load_model(a.model_dir)
    sae = load_sae(a.sae)
    load_s = time.time() - t0
    print(f"[torch] torch {torch.__version__}, {torch.get_num_threads()} threads; model + SAE loaded in {load_s:.1f} s",
          file=sys.stderr, flush=True)

    captured = {}
    hook = model.vision_model.encoder.layers[a.layer].register_forward_hook(
        lambda m, i, o: captured.__setitem__("resid", o))
    files = [a.photos[i % len(a.photos)] for i in range(a.images)]

    def run_batch(paths):
        tp = time.perf_counter()
        px = torch.from_numpy(np.stack([preprocess(p, pre_cfg) for p in paths]))
        tf = time.perf_counter()
        emb = model(px)
        resid = captured.pop("resid")  # [B, T, D]
        ts = time.perf_counter()
        b, t, d = resid.shape
        val, idx, recon = sae_encode_decode(resid.reshape(b * t, d), sae)
        mets = [image_metrics(resid[i], recon[i * t:(i + 1) * t], val[i * t:(i + 1) * t]) for i in range(b)]
        te = time.perf_counter()
        return (tf - tp, ts - tf, te - ts), emb, resid, val, idx, mets

    results = []
    check = None
    with torch.inference_mode():
        # parity sample: the first photo alone
        _, emb, resid, val, idx, mets = run_batch(files[:1])
        check = {"file": files[0], "embedding": emb[0].tolist(), "resid_first": resid[0, :4, :8].reshape(-1).tolist(),
                 "token0_idx": idx[0].tolist(), "token0_val": val[0].tolist(), "metrics": mets[0]}
        budget = a.max_wait
        sizes = [int(s) for s in a.batch_sizes.split(",") if s]
        t_start = time.perf_counter()
        for si, bs in enumerate(sizes):
            # no per-size warm-up: OpenBLAS has no JIT, and large buffers are mmapped afresh per batch
            if budget > 0:
                budget -= wait_quiet(min(15.0, budget))
            share = None
            if a.time_budget > 0:
                share = max(0.0, a.time_budget - (time.perf_counter() - t_start)) / (len(sizes) - si)
            parts = [0.0, 0.0, 0.0]
            batches = clean_batches = clean_images = 0
            clean_s = 0.0
            start = time.perf_counter()
            for i in range(0, len(files), bs):
                if share is not None and batches >= 1 and time.perf_counter() - start > share:
                    break
                c0 = cpu_snapshot()
                (p, f_, s), *_ = run_batch(files[i:i + bs])
                c1 = cpu_snapshot()
                batches += 1
                if is_clean(other_cores(c0, c1)):
                    clean_batches += 1
                    clean_images += len(files[i:i + bs])
                    clean_s += c1[0] - c0[0]
                parts[0] += p
                parts[1] += f_
                parts[2] += s
            total = time.perf_counter() - start
            n = min(len(files), batches * bs)
            r = {"batch": bs, "images": n, "seconds": total, "images_per_s": n / total,
                 "batches": batches, "clean_batches": clean_batches,
                 "clean_images_per_s": clean_images / clean_s if clean_s > 0 else None,
                 "preprocess_ms_per_image": 1000 * parts[0] / n, "vit_ms_per_image": 1000 * parts[1] / n,
                 "sae_ms_per_image": 1000 * parts[2] / n}
            results.append(r)
            clean = f"{r['clean_images_per_s']:.3f}" if r["clean_images_per_s"] else "n/a"
            print(f"[torch] batch {bs}: {r['images_per_s']:.3f} images/s, clean batches {clean} ({clean_batches}/{batches}) "
                  f"(preprocess {r['preprocess_ms_per_image']:.0f}, ViT {r['vit_ms_per_image']:.0f}, "
                  f"SAE+decode+metrics {r['sae_ms_per_image']:.0f} ms/image)", file=sys.stderr, flush=True)
    out = {"torch_version": torch.__version__, "threads": torch.get_num_threads(), "load_s": load_s,
           "results": results, "check": check}
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f)
    os.replace(tmp, a.out)
    if a.serve:
        serve(files, run_batch)
    hook.remove()
    return 0


def serve(files, run_batch) -> None:
    """--serve: stay loaded and time passes on request, so the caller can interleave them with its
    own (one JSON line per request on stdin: {"batch": B, "images": N}; one line back)."""
    print(json.dumps({"ready": True}), flush=True)
    with torch.inference_mode():
        for line in sys.stdin:
            if not line.strip():
                continue
            req = json.loads(line)
            bs, n = int(req["batch"]), int(req["images"])
            paths = [files[i % len(files)] for i in range(n)]
            c0 = cpu_snapshot()
            for i in range(0, n, bs):
                run_batch(paths[i:i + bs])
            c1 = cpu_snapshot()
            print(json.dumps({"batch": bs, "images": n, "seconds": c1[0] - c0[0], "images_per_s": n / (c1[0] - c0[0]),
                              "other_cores": other_cores(c0, c1)}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
