"""Forward time per profile (I2ZNet + DAM decode + colour) at batch 1, parameter counts and
bundle sizes. ``python -m bench.model_speed [--profiles tiny lite paper] [--device cpu] [--out DIR]``."""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

import torch

from models import bundle as B
from models.camera import view_direction
from models.config import profile

from .common import machine, profile_topology, run_dir, timeit, write_report


def _size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def measure(name: str, device: str, repeat: int) -> dict:
    cfg = profile(name)
    topo, note = profile_topology(cfg, "model_speed")
    b = B.build(cfg, topo, load_pretrained=False).to(device)
    for m in (b.i2znet, b.dam, b.color):
        m.eval()
    S = cfg.crop_size
    x = torch.rand(1, 3, S, S, device=device)
    K = torch.rand(1, 68, 2, device=device) * S
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)

    @torch.no_grad()
    def enc():
        out = b.i2znet(x, K)
        sync()
        return out

    z, H = enc()
    vd = view_direction(H)

    @torch.no_grad()
    def dec():
        G, T = b.dam.decode(z, vd)
        out = b.color(T)
        sync()
        return out

    @torch.no_grad()
    def full():
        z2, H2 = b.i2znet(x, K)
        G, T = b.dam.decode(z2, view_direction(H2))
        out = b.color(T)
        sync()
        return out

    r = {"profile": name, "device": device, "crop": S, "texture": cfg.tex_size, "vertices": topo.n_vertices,
         "topology_note": note,
         "params_i2znet": sum(p.numel() for p in b.i2znet.parameters()),
         "params_dam_decoder": sum(p.numel() for p in b.dam.decoder.parameters()),
         "params_dam_encoder": sum(p.numel() for p in b.dam.encoder.parameters()),
         "encoder": timeit(enc, repeat), "decoder_colour": timeit(dec, repeat), "total": timeit(full, repeat)}
    with tempfile.TemporaryDirectory() as d:
        dtype = "float16" if name == "lite" else "float32"
        r["bundle_mb"] = _size_mb(B.save(b.to("cpu"), Path(d) / "b", dtype=dtype))
        r["bundle_dtype"] = dtype
    return r


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.model_speed", description=__doc__)
    p.add_argument("--profiles", nargs="+", default=["tiny", "lite", "paper"])
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    out = run_dir(a.out, "model_speed")
    results = [measure(n, a.device, a.repeat if n != "paper" else max(3, a.repeat // 4)) for n in a.profiles]
    data = {"machine": machine(), "results": results}
    rows = [[r["profile"], r["device"], r["encoder"]["p50_ms"], r["decoder_colour"]["p50_ms"], r["total"]["p50_ms"],
             r["total"]["p95_ms"], r["params_i2znet"] / 1e6, r["params_dam_decoder"] / 1e6, r["bundle_mb"]]
            for r in results]
    write_report(out, "Model speed", data,
                 ["profile", "device", "I2ZNet ms", "DAM+C ms", "total p50 ms", "total p95 ms", "I2ZNet M params",
                  "decoder M params", "bundle MB"], rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
