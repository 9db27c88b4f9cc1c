#!/usr/bin/env python3
"""Writes GGUF models from the project's model descriptions, with the gguf-py bundled in llama.cpp's source.

    python3 write_model.py DESCRIPTIONS.json OUT_DIR [--only NAME[,NAME]] [--gguf-py DIR]

DESCRIPTIONS.json is what `describeModels()` in scripts/fixtures/generate.ts writes: per model its metadata
(key, GGUF value type, item type, value) and its tensors (name, ggml `ne` shape, ggml type, and the uniform
distribution the TypeScript writer fills them from). The metadata is written as given. Tensor values are drawn
from numpy's PCG64 seeded by the model seed and the tensor name (so every run writes the same bytes), then:
F32 and F16 as they are; Q8_0, Q4_0 and MXFP4 quantized with gguf-py's own quantizers; Q4_K (gguf-py has no
quantizer for it) as random blocks: random 6-bit scales and 4-bit values under a scale that gives the
distribution's standard deviation.

Large quantized tensors (more than 2^24 values) are written as random blocks too, with a scale giving the
same standard deviation: a 26 GB Mixtral-shaped model is written in about the time the disk takes, where
quantizing would take an hour. Their values mean nothing; the speed of every kernel is that of real weights.
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np

BIG = 1 << 24


def import_gguf(path):
    if path:
        sys.path.insert(0, path)
    try:
        import yaml  # noqa: F401  (gguf-py's metadata module needs it at import, for model cards only)
    except ImportError:
        import types

        sys.modules["yaml"] = types.ModuleType("yaml")  # not used for writing: a machine without PyYAML still works
    import gguf  # noqa: E402

    return gguf


def rng_for(seed, name):
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def uniform(rng, n, mean, std):
    a = std * np.sqrt(3.0)
    return (mean + a * (rng.random(n, dtype=np.float32) * 2 - 1)).astype(np.float32)


def random_blocks(gguf, qtype, ne, std, rng):
    """Random quantized blocks of the right layout whose values have about this standard deviation."""
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    n_blocks = int(np.prod(ne)) // block
    # One row of random blocks, reused for every row: a big tensor is then a cheap tile.
    row_blocks = min(n_blocks, 1 << 16)
    raw = rng.integers(0, 256, size=(row_blocks, size), dtype=np.uint8)
    T = gguf.GGMLQuantizationType
    if qtype == T.Q4_0:  # f16 d, 16 bytes of 4-bit q: value (q - 8) * d, q uniform: sd 4.6 d
        raw[:, 0:2] = np.frombuffer(np.float16(std / 4.6).tobytes(), dtype=np.uint8)
    elif qtype == T.Q8_0:  # f16 d, 32 int8: sd 73.9 d
        raw[:, 0:2] = np.frombuffer(np.float16(std / 73.9).tobytes(), dtype=np.uint8)
    elif qtype == T.Q4_K:  # f16 d, f16 dmin, 12 bytes of 6-bit scales and mins, 128 bytes of 4-bit q
        raw[:, 0:2] = np.frombuffer(np.float16(std / 4.6 / 32).tobytes(), dtype=np.uint8)
        raw[:, 2:4] = np.frombuffer(np.float16(std / 32).tobytes(), dtype=np.uint8)
    elif qtype == T.MXFP4:  # e8m0 exponent, 16 bytes of e2m1 pairs: exponent so that the largest value is ~3 sd
        e = int(np.floor(np.log2(max(std, 1e-30) * 3)) - 2 + 127)
        raw[:, 0] = np.uint8(max(1, min(254, e)))
    else:
        raise SystemExit(f"write_model.py: no random blocks for {qtype.name}")
    reps = -(-n_blocks // row_blocks)
    return np.tile(raw, (reps, 1))[:n_blocks].reshape(-1)


def tensor_data(gguf, model, t):
    T = gguf.GGMLQuantizationType
    qtype = T(t["type"])
    ne = t["shape"]
    n = int(np.prod(ne))
    rng = rng_for(model["seed"], t["name"])
    mean, std = t.get("mean", 0.0), t.get("std", 1.0)
    if qtype == T.F32:
        return uniform(rng, n, mean, std)
    if qtype == T.F16:
        return uniform(rng, n, mean, std).astype(np.float16)
    if qtype == T.Q4_K or n > BIG:
        return random_blocks(gguf, qtype, ne, std, rng)
    values = uniform(rng, n, mean, std).reshape(list(reversed(ne)))
    return gguf.quants.quantize(values, qtype).reshape(-1)


def write(gguf, model, out_dir):
    path = os.path.join(out_dir, model["name"] + ".gguf")
    tmp = path + ".tmp"
    kvs = model["kvs"]
    arch = next(k["value"] for k in kvs if k["key"] == "general.architecture")
    w = gguf.GGUFWriter(tmp, arch)
    V = gguf.GGUFValueType
    for k in kvs:
        if k["key"] == "general.architecture":
            continue  # GGUFWriter adds it
        vtype = V(k["type"])
        sub = V(k["itemType"]) if vtype == V.ARRAY else None
        w.add_key_value(k["key"], k["value"], vtype, sub_type=sub)
    T = gguf.GGMLQuantizationType
    for t in model["tensors"]:
        qtype = T(t["type"])
        block, size = gguf.GGML_QUANT_SIZES[qtype]
        n = int(np.prod(t["shape"]))
        if t["shape"][0] % block:
            raise SystemExit(f"write_model.py: {t['name']}: rows of {t['shape'][0]} are not whole {qtype.name} blocks of {block}")
        w.add_tensor_info(t["name"], list(reversed(t["shape"])), np.dtype(np.float32), n // block * size, raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    for t in model["tensors"]:
        w.write_tensor_data(tensor_data(gguf, model, t))
    w.close()
    os.replace(tmp, path)
    return path, os.path.getsize(path)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("descriptions")
    p.add_argument("out_dir")
    p.add_argument("--only", default="")
    p.add_argument("--gguf-py", default=os.environ.get("GGUF_PY", ""))
    a = p.parse_args()
    gguf = import_gguf(a.gguf_py)
    with open(a.descriptions, encoding="utf-8") as f:
        models = json.load(f)
    only = [n for n in a.only.split(",") if n]
    os.makedirs(a.out_dir, exist_ok=True)
    for model in models:
        if only and model["name"] not in only:
            continue
        path, size = write(gguf, model, a.out_dir)
        print(f"{model['name']}: wrote {path} ({size / 2**20:.1f} MiB)", flush=True)


if __name__ == "__main__":
    main()
