"""Takes: per recording a Live Link Face-layout CSV, an NPZ of everything tracked, an mp4 of the avatar.

``<root>/<take name>/`` (root: ``--record DIR`` or ``<user data dir>/takes``):

- ``take.csv``  Live Link Face's layout: ``Timecode`` (time of day, ``HH:MM:SS:FF.fff``: FF the frame
  at the take's rate, .fff the sub-frame fraction), ``BlendShapeCount`` (61), the 52 ARKit names in
  the app's column order (0 for shapes we do not estimate), HeadYaw/HeadPitch/HeadRoll (radians:
  yaw = ry, pitch = rx, roll = rz of H, :mod:`models.camera`), Left/RightEyeYaw/Pitch/Roll (radians;
  0 until a gaze model exists; roll is always 0). One row per tracked frame (zeros while no face).
- ``take.npz``  ``timestamp`` (N,) the tracker's time, ``t_wall`` (N,) epoch seconds of capture, ``found``,
  ``z`` (N, Z), ``H`` (N, 6) frame pixels, ``landmarks`` (N, 68, 2), ``expressions`` (N, K) with
  ``expression_names``, ``gaze`` (N, 2, 2), ``live_link`` (N, 61) the CSV's numbers (NaN where no face
  for z/H/landmarks).
- ``avatar.mp4`` the avatar view (when the first frame of the take has one), ``take.json`` a summary.

Writes are atomic: each file is written as ``*.part`` and moved into place with ``os.replace`` when
the take stops; a disk that fills up (or any write error) stops the take with a message and keeps
the frames written so far. Writing happens on a writer thread behind a bounded queue; a frame
that finds the queue full is left out of the take and counted (``dropped``).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.landmark_expressions import LIVE_LINK_FACE_NAMES, to_live_link

from ..pipeline.profiles import user_data_dir

log = logging.getLogger(__name__)
POSE_COLUMNS = ("HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
                "RightEyeYaw", "RightEyePitch", "RightEyeRoll")
CSV_HEADER = ("Timecode", "BlendShapeCount", *LIVE_LINK_FACE_NAMES, *POSE_COLUMNS)
BLENDSHAPE_COUNT = len(LIVE_LINK_FACE_NAMES) + len(POSE_COLUMNS)  # 61, as Live Link Face writes
CSV, NPZ, MP4, META = "take.csv", "take.npz", "avatar.mp4", "take.json"


class TakeError(RuntimeError):
    """A take cannot be started or written; the message says why and what to do."""


def takes_dir() -> Path:
    return user_data_dir() / "takes"


def timecode(t_wall: float, fps: float) -> str:
    """Epoch seconds -> local time of day ``HH:MM:SS:FF.fff`` (FF frames at ``fps``, .fff sub-frame)."""
    sec = int(t_wall // 1)
    ff, sub = divmod(int(round((t_wall - sec) * fps * 1000)), 1000)  # thousandths of a frame
    if ff >= fps:  # rounded up into the next second
        sec, ff, sub = sec + 1, 0, 0
    lt = time.localtime(sec)
    return f"{lt.tm_hour:02d}:{lt.tm_min:02d}:{lt.tm_sec:02d}:{ff:02d}.{sub:03d}"


def live_link_row(result) -> np.ndarray:
    """(61,) the CSV's numbers for one FrameResult: 52 blendshapes, head yaw/pitch/roll, eyes."""
    out = np.zeros(BLENDSHAPE_COUNT, np.float64)
    if not result.found:
        return out
    out[:52] = to_live_link(result.expressions, result.expression_names)
    if result.H_frame is not None:
        rx, ry, rz = (float(v) for v in result.H_frame[1:4])
        out[52:55] = (ry, rx, rz)
    if result.gaze is not None:
        g = np.asarray(result.gaze, np.float64)  # (2, 2) (left, right) x (yaw, pitch)
        out[55:57], out[58:60] = g[0], g[1]
    return out


def _why(e: OSError, path: Path) -> str:
    if e.errno == errno.ENOSPC:
        return f"the disk is full ({path.parent})"
    if isinstance(e, PermissionError) or e.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
        return f"no permission to write in {path.parent}"
    if isinstance(e, (NotADirectoryError, FileExistsError)):
        return f"{path.parent} is not a folder"
    return f"{type(e).__name__}: {e.strerror or e}"


@dataclass(frozen=True)
class TakeInfo:
    name: str
    path: Path
    frames: int = 0
    seconds: float = 0.0
    dropped: int = 0
    video: bool = False
    error: str = ""
    finished: bool = True


class TakeRecorder:
    """One take: ``submit(TrackPacket)`` per frame (tracking thread, never waits), ``stop()`` at the end."""

    def __init__(self, root: str | Path | None = None, fps: float = 30.0, name: str | None = None,
                 queue_size: int = 256) -> None:
        self.root = Path(root) if root else takes_dir()
        self.name = name or time.strftime("take-%Y%m%d-%H%M%S")
        self.path = self.root / self.name
        self.fps = float(fps or 30.0)
        self.frames = self.dropped = 0
        self.error = ""
        self.thread_cpu_s = 0.0
        self._video: cv2.VideoWriter | None = None
        self._video_size: tuple[int, int] | None = None
        self._rows: list[tuple] = []
        self._wall0 = time.time() - time.perf_counter()
        self._t0 = time.perf_counter()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self._csv = open(self.path / (CSV + ".part"), "w", newline="")
            self._csv.write(",".join(CSV_HEADER) + "\n")
            self._csv.flush()
        except OSError as e:
            raise TakeError(f"cannot record a take into {self.path}: {_why(e, self.path / CSV)}; "
                            "choose a writable folder (--record DIR, or the Outputs panel's folder)") from None
        self._q: queue.Queue = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(target=self._run, name="take-writer", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ tracking thread
    def submit(self, pkt) -> None:
        try:
            self._q.put_nowait(pkt)
        except queue.Full:
            self.dropped += 1

    # ------------------------------------------------------------------ writer thread
    def _run(self) -> None:
        while True:
            pkt = self._q.get()
            if pkt is None:
                return
            if self.error:
                continue  # the take stopped on an error: keep what was written, drop the rest
            c0 = time.thread_time()
            try:
                self._write(pkt)
            except OSError as e:
                self.error = f"take {self.name} stopped after {self.frames} frames: {_why(e, self.path / CSV)}"
                log.warning(self.error)
            self.thread_cpu_s += time.thread_time() - c0

    def _write(self, pkt) -> None:
        r = pkt.result
        t_wall = self._wall0 + pkt.t_capture
        row = live_link_row(r)
        if self.frames == 0 and pkt.avatar_rgb is not None:
            h, w = pkt.avatar_rgb.shape[:2]
            self._video_size = (w, h)
            self._video = cv2.VideoWriter(str(self.path / "avatar.part.mp4"), cv2.VideoWriter_fourcc(*"mp4v"),
                                          self.fps, (w, h))
            if not self._video.isOpened():
                raise OSError(errno.EIO, f"cannot open an mp4 writer in {self.path}")
        self._csv.write(timecode(t_wall, self.fps) + f",{BLENDSHAPE_COUNT}," +
                        ",".join(f"{v:.6f}" for v in row) + "\n")
        self._csv.flush()
        if self._video is not None:
            img = pkt.avatar_rgb if pkt.avatar_rgb is not None else np.zeros((*self._video_size[::-1], 3), np.uint8)
            if img.shape[1::-1] != self._video_size:
                img = cv2.resize(img, self._video_size)
            self._video.write(cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        self._rows.append((r.timestamp, t_wall, r.found, r.z, r.H_frame, r.landmarks, r.expressions,
                           tuple(r.expression_names), r.gaze, row))
        self.frames += 1

    # ------------------------------------------------------------------ any thread
    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self._t0

    def stop(self) -> TakeInfo:
        """Finish the take: flush the writer, move every file into place (also after an error)."""
        self._q.put(None)
        self._thread.join()
        problems = [self.error] if self.error else []
        try:
            self._csv.close()
        except OSError as e:
            problems.append(f"CSV: {_why(e, self.path / CSV)}")
        os.replace(self.path / (CSV + ".part"), self.path / CSV)
        if self._video is not None:
            self._video.release()
            os.replace(self.path / "avatar.part.mp4", self.path / MP4)
        try:
            self._save_npz()
        except OSError as e:
            problems.append(f"NPZ not written: {_why(e, self.path / NPZ)}")
        info = TakeInfo(self.name, self.path, self.frames, self.elapsed, self.dropped, self._video is not None,
                        "; ".join(problems))
        try:
            _atomic_text(self.path / META, json.dumps({
                "name": info.name, "frames": info.frames, "seconds": info.seconds, "fps": self.fps,
                "dropped": info.dropped, "video": info.video, "error": info.error,
                "files": [f for f in (CSV, NPZ, MP4) if (self.path / f).exists()]}, indent=2))
        except OSError as e:
            log.warning("take summary not written: %s", _why(e, self.path / META))
        return info

    def _save_npz(self) -> None:
        rows, n = self._rows, len(self._rows)
        first = next((r for r in rows if r[2]), None)
        Z = len(first[3]) if first is not None and first[3] is not None else 0
        # every name seen in the take, in first-seen order: the expression source may change mid-take
        # (the window's expressions choice, an avatar swap), and each row is written by name
        names = tuple(dict.fromkeys(nm for r in rows if r[2] and r[6] is not None for nm in r[7]))
        col = {nm: j for j, nm in enumerate(names)}
        z = np.full((n, Z), np.nan, np.float32)
        H = np.full((n, 6), np.nan, np.float32)
        L = np.full((n, 68, 2), np.nan, np.float32)
        E = np.zeros((n, len(names)), np.float32)
        G = np.zeros((n, 2, 2), np.float32)
        for i, (_, _, found, zz, h, lm, ex, ex_names, gz, _) in enumerate(rows):
            if found:
                z[i], H[i], L[i] = zz, h, lm
                if ex is not None:
                    E[i, [col[nm] for nm in ex_names]] = ex
                G[i] = gz if gz is not None else 0.0
        part = self.path / (NPZ + ".part")
        with open(part, "wb") as f:
            np.savez(f, timestamp=np.array([r[0] for r in rows], np.float64),
                     t_wall=np.array([r[1] for r in rows], np.float64), found=np.array([r[2] for r in rows], bool),
                     z=z, H=H, landmarks=L, expressions=E, expression_names=np.array(names, dtype=str), gaze=G,
                     live_link=np.array([r[9] for r in rows], np.float64).reshape(n, BLENDSHAPE_COUNT),
                     fps=np.float64(self.fps))
        os.replace(part, self.path / NPZ)


def _atomic_text(path: Path, text: str) -> None:
    part = path.with_name(path.name + ".part")
    part.write_text(text)
    os.replace(part, path)


def list_takes(root: str | Path | None = None) -> list[TakeInfo]:
    """Takes under ``root`` (default: the user data folder's ``takes``), newest first. A folder with a
    ``take.csv.part`` and no summary is a take that did not finish (the app was killed)."""
    root = Path(root) if root else takes_dir()
    out = []
    for d in sorted((p for p in root.glob("*") if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True):
        meta = d / META
        if meta.exists():
            try:
                m = json.loads(meta.read_text())
                out.append(TakeInfo(m.get("name", d.name), d, int(m.get("frames", 0)), float(m.get("seconds", 0.0)),
                                    int(m.get("dropped", 0)), bool(m.get("video", False)), m.get("error", "")))
                continue
            except (OSError, ValueError):
                pass
        if (d / CSV).exists() or (d / (CSV + ".part")).exists():
            out.append(TakeInfo(d.name, d, finished=False))
    return out
