"""What the outputs cost: VMC (perfect sync) + take recording (CSV + NPZ + mp4) + virtual camera, on vs off.

``python -m bench.outputs_speed [--bundle PATH] [--blocks 8] [--block 30] [--size 640x480] [--out DIR]``

One process, one tracker, the app's own :class:`app.pipeline.frame.Pipeline` (avatar drawn in-thread so the
mp4 has pictures) on pre-rendered synthetic-actor frames, as fast as it goes. Blocks of ``--block``
frames alternate outputs off / on (ABAB..., so a change in machine load hits both alike). Reported:

- tracking FPS with outputs off and on (frames / wall time of the blocks);
- the tracking thread's cost of ``Outputs.submit`` (p50 / p95 microseconds);
- camera-to-send latency of VMC (frame ready -> datagram written) and what outputs add after the
  result (send time - pipeline done), p50 / p95 ms;
- CPU seconds per frame of the process in off vs on blocks, and of each output thread;
- VMC datagrams/s and OSC messages/s seen by a UDP receiver on 127.0.0.1, losses, take frames dropped.

The virtual camera uses a fake pyvirtualcam backend (no device needed); it is left out without pyvirtualcam.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from .common import git_commit, machine, run_dir, write_report


class _Receiver:
    """A plain UDP socket on 127.0.0.1 that counts datagrams and OSC messages (cheap: no parsing)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stamps: list[tuple[float, int]] = []
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            self.stamps.append((time.perf_counter(), data.count(b"/VMC/")))

    def close(self) -> None:
        self._stop = True
        self.thread.join()
        self.sock.close()


class _FakeCam:
    def __init__(self, *, width, height, fps, fourcc, device, **kw) -> None:
        self.frames = 0

    def send(self, frame) -> None:
        self.frames += 1

    def close(self) -> None:
        pass

    def device(self) -> str:
        return "bench-fake"

    def native_fourcc(self):
        return None


def _pct(x, q) -> float | None:
    return float(np.percentile(x, q)) if len(x) else None


def frames_from_actor(n: int, size: tuple[int, int]) -> list:
    from app.sources.synthetic import SyntheticSource

    src = SyntheticSource("office", width=size[0], height=size[1])
    src.open()
    grabs = [src.read() for _ in range(n)]
    src.close()
    return grabs


def run(args) -> dict:
    from app.outputs.hub import Outputs
    from app.pipeline.drawing import FrameDrawer
    from app.pipeline.frame import Pipeline
    from app.pipeline.packets import FramePacket
    from app.pipeline.setup import build_tracker

    w, h = (int(v) for v in args.size.split("x"))
    setup = build_tracker(args.bundle, "cpu", "auto", "synthetic")
    pipeline = Pipeline(setup.tracker, FrameDrawer(setup.choice.bundle.topology))
    grabs = frames_from_actor(60, (w, h))
    rx = _Receiver()
    tmp = tempfile.TemporaryDirectory(prefix="outputs-bench-")
    outputs = Outputs(30.0)
    vcam = False
    try:
        import pyvirtualcam

        pyvirtualcam.register_backend("bench_fake", _FakeCam)
        vcam = not args.no_vcam
    except ImportError:
        pass
    rows = {"off": [], "on": []}  # per frame: (index, t_capture, t_done, submit_s)
    cpu = {"off": 0.0, "on": 0.0}
    wall = {"off": 0.0, "on": 0.0}
    i = 0
    for warm in range(5):  # first frames pay for lazy allocations
        g = grabs[warm]
        pipeline.process(FramePacket(-1, time.perf_counter(), g.image, 0.0, g.truth, warm, "bench", warm / 30.0))
    for block in range(args.blocks):
        mode = "on" if block % 2 else "off"
        if mode == "on":
            outputs.start_vmc("127.0.0.1", rx.port, perfect_sync=True)
            outputs.start_take(tmp.name, f"take{block}")
            if vcam:
                outputs.start_vcam(w, h, backend="bench_fake")
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(args.block):
            g = grabs[i % len(grabs)]
            t_cap = time.perf_counter()
            pkt = pipeline.process(FramePacket(i, t_cap, g.image, 0.0, g.truth, i, "bench", i / 30.0))
            s0 = time.perf_counter()
            if mode == "on":
                outputs.submit(pkt)
            rows[mode].append((i, t_cap, pkt.t_done, time.perf_counter() - s0))
            i += 1
        wall[mode] += time.perf_counter() - t0
        cpu[mode] += time.process_time() - c0
        rows.setdefault("block_fps", []).append((mode, args.block / (time.perf_counter() - t0),
                                                 1e3 * (time.process_time() - c0) / args.block))
        if mode == "on":
            vmc = outputs.vmc
            time.sleep(0.1)  # the last datagram
            sent = dict(vmc.t_sent)
            cpu_threads = {"vmc": vmc.thread_cpu_s, "take": outputs.take.thread_cpu_s,
                           "vcam": outputs.vcam.thread_cpu_s if outputs.vcam else 0.0}
            outputs.stop_vmc()
            take = outputs.stop_take()
            outputs.stop_vcam()
            rows.setdefault("sent", {}).update(sent)
            for k, v in cpu_threads.items():
                rows.setdefault("thread_cpu", {}).setdefault(k, 0.0)
                rows["thread_cpu"][k] += v
            rows.setdefault("takes", []).append((take.frames, take.dropped, take.error))
            rows.setdefault("vmc_lost", []).append(vmc.status().lost)
    time.sleep(0.3)
    rx.close()
    pipeline.close()
    on, off = rows["on"], rows["off"]
    sent = rows["sent"]
    lat_send = [1e3 * (sent[k] - tc) for k, tc, _, _ in on if k in sent]
    added = [1e3 * (sent[k] - td) for k, _, td, _ in on if k in sent]
    lat_done = {m: [1e3 * (td - tc) for _, tc, td, _ in rows[m]] for m in ("off", "on")}
    st = np.array(rx.stamps) if rx.stamps else np.zeros((0, 2))
    gaps = np.diff(st[:, 0]) if len(st) > 1 else np.zeros(0)
    active = float(gaps[gaps < 0.5].sum()) if len(gaps) else 0.0  # receiving time, the off blocks left out
    n_on = len(on)
    result = {
        "machine": machine(), "commit": git_commit(), "bundle": setup.choice.description,
        "frame_size": [w, h], "blocks": args.blocks, "block_frames": args.block, "vcam": vcam,
        "fps_off": len(off) / wall["off"], "fps_on": n_on / wall["on"],
        "blocks_fps_cpu_ms": rows["block_fps"],  # (mode, FPS, process CPU ms/frame) per block, in run order
        "submit_us": {"p50": 1e6 * _pct([r[3] for r in on], 50), "p95": 1e6 * _pct([r[3] for r in on], 95)},
        "camera_to_result_ms": {m: {"p50": _pct(lat_done[m], 50), "p95": _pct(lat_done[m], 95)} for m in lat_done},
        "camera_to_vmc_send_ms": {"p50": _pct(lat_send, 50), "p95": _pct(lat_send, 95)},
        "vmc_send_after_result_ms": {"p50": _pct(added, 50), "p95": _pct(added, 95)},
        "cpu_s_per_frame": {"off": cpu["off"] / len(off), "on": cpu["on"] / n_on},
        "output_thread_cpu_ms_per_frame": {k: 1e3 * v / n_on for k, v in rows["thread_cpu"].items()},
        "vmc_datagrams_received": len(st), "vmc_frames_sent": len(sent), "vmc_lost": sum(rows["vmc_lost"]),
        "datagrams_per_s": (len(st) - 1) / active if active else 0.0,
        "messages_per_s": float(st[1:, 1].sum()) / active if active else 0.0,
        "messages_per_frame": float(st[:, 1].mean()) if len(st) else 0.0,
        "take_frames": sum(t[0] for t in rows["takes"]), "take_dropped": sum(t[1] for t in rows["takes"]),
        "take_errors": [t[2] for t in rows["takes"] if t[2]],
    }
    tmp.cleanup()
    return result


def plot(r: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(9, 3.4))
    ax[0].bar(["outputs off", "outputs on"], [r["fps_off"], r["fps_on"]], color=["#888", "#3a7"])
    ax[0].set_ylabel("tracking FPS")
    ax[0].set_title("throughput, same run (ABAB blocks)")
    keys = [("camera_to_result_ms", "off", "result (off)"), ("camera_to_result_ms", "on", "result (on)")]
    vals = [(r[k][m]["p50"], r[k][m]["p95"], lab) for k, m, lab in keys]
    vals.append((r["camera_to_vmc_send_ms"]["p50"], r["camera_to_vmc_send_ms"]["p95"], "VMC sent (on)"))
    x = np.arange(len(vals))
    ax[1].bar(x - 0.2, [v[0] for v in vals], 0.4, label="p50")
    ax[1].bar(x + 0.2, [v[1] for v in vals], 0.4, label="p95")
    ax[1].set_xticks(x, [v[2] for v in vals])
    ax[1].set_ylabel("ms from frame ready")
    ax[1].legend()
    fig.tight_layout()
    fig.savefig(out / "outputs_speed.png", dpi=110)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", default=None, help="avatar bundle (default: the committed default avatar)")
    ap.add_argument("--blocks", type=int, default=8, help="alternating off/on blocks (even)")
    ap.add_argument("--block", type=int, default=30, help="frames per block")
    ap.add_argument("--size", default="640x480")
    ap.add_argument("--no-vcam", action="store_true", help="leave the virtual camera out")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)  # as the app's tracking thread
    r = run(args)
    out = run_dir(args.out, "outputs_speed")
    f = lambda d: f"{d['p50']:.2f} / {d['p95']:.2f}"
    rows = [["tracking FPS", f"{r['fps_off']:.1f}", f"{r['fps_on']:.1f}"],
            ["camera-to-result p50 / p95 ms", f(r["camera_to_result_ms"]["off"]), f(r["camera_to_result_ms"]["on"])],
            ["camera-to-VMC-send p50 / p95 ms", "-", f(r["camera_to_vmc_send_ms"])],
            ["VMC send after the result p50 / p95 ms", "-", f(r["vmc_send_after_result_ms"])],
            ["Outputs.submit on the tracking thread p50 / p95 us", "-", f(r["submit_us"])],
            ["process CPU ms / frame", *(f"{1e3 * r['cpu_s_per_frame'][m]:.1f}" for m in ("off", "on"))],
            ["output threads CPU ms / frame", "-", ", ".join(f"{k} {v:.2f}" for k, v in
                                                            r["output_thread_cpu_ms_per_frame"].items())],
            ["VMC datagrams/s, messages/s (received)", "-", f"{r['datagrams_per_s']:.1f}, {r['messages_per_s']:.0f}"],
            ["VMC lost, take frames dropped", "-", f"{r['vmc_lost']}, {r['take_dropped']}"]]
    write_report(out, "Outputs: cost per frame, on vs off (bench.outputs_speed)", r, ["", "outputs off", "outputs on"],
                 rows)
    plot(r, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
