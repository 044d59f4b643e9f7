"""The synthetic person the live synthetic source renders.

Prefers the studio's procedural person (``studio.head.Person(seed)``: ``topology``,
``geometry(expr)``, ``albedo(T)``) and its performances (``studio.performance``). When they
fail to load (e.g. the ``head_v1`` asset is missing) it falls back to :class:`FallbackPerson`:
the generated test mesh with a painted albedo and three expression directions, driven by
:func:`analytic_performance`. :func:`load_person` says which one it picked
(``PersonInfo.notice``), once, so the GUI can show it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from models.topology import Topology, TopologyError, load_topology, make_test_mesh

log = logging.getLogger(__name__)
EXPRESSIONS = ("jaw_open", "smile", "brow_raise")


def _smooth(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3 - 2 * t)


class FallbackPerson:
    """A painted person on the template topology (used until ``studio.head`` lands)."""

    def __init__(self, seed: int = 0, topology: Topology | None = None) -> None:
        if topology is None:
            try:
                topology = load_topology("head_v1")
            except TopologyError:
                topology = make_test_mesh()
        self.topology, self.seed = topology, seed
        V = topology.vertices.astype(np.float64)
        lm = V[topology.landmark_ids]
        mouth_y = float(lm[60:68, 1].mean())
        chin_y = float(lm[8, 1])
        brow_y = float(lm[17:27, 1].mean())
        x, y = V[:, 0], V[:, 1]
        near_face = np.exp(-(x / 1.0) ** 2)
        self._dirs = {name: np.zeros_like(V) for name in EXPRESSIONS}
        self._dirs["jaw_open"][:, 1] = 0.35 * (chin_y - mouth_y) * _smooth(y, mouth_y, chin_y) * near_face
        for corner in (48, 54):
            c = lm[corner]
            w = np.exp(-((x - c[0]) ** 2 + (y - c[1]) ** 2) / 0.02)
            self._dirs["smile"][:, 0] += 0.08 * np.sign(c[0]) * w
            self._dirs["smile"][:, 1] -= 0.07 * w
        self._dirs["brow_raise"][:, 1] = -0.08 * _smooth(-y, -brow_y - 0.15, -brow_y + 0.1) * near_face
        self._albedo: dict[int, np.ndarray] = {}

    def geometry(self, expr: dict[str, float] | None = None) -> np.ndarray:
        """Rigid-free vertices for expression weights. -> (V, 3) float32"""
        G = self.topology.vertices.astype(np.float64).copy()
        for name, w in (expr or {}).items():
            if name in self._dirs:
                G += float(w) * self._dirs[name]
        return G.astype(np.float32)

    def albedo(self, T: int = 256) -> np.ndarray:
        """Painted skin, eyes, brows, lips, nostrils and moles in UV space. -> (T, T, 3) float32 RGB"""
        if T in self._albedo:
            return self._albedo[T]
        rng = np.random.default_rng(self.seed)
        skin = np.array([0.86, 0.66, 0.55]) * rng.uniform(0.85, 1.1)
        low = cv2.resize(rng.normal(0, 0.04, (8, 8, 3)).astype(np.float32), (T, T), interpolation=cv2.INTER_CUBIC)
        img = np.clip(skin + low + rng.normal(0, 0.015, (T, T, 3)), 0, 1).astype(np.float32)
        uv = self.topology.uvs[self.topology.landmark_ids] * T  # (68, 2) texel units (x = column)

        def poly(ids, colour, fill=True, thick=1):
            p = np.round(uv[list(ids)] * 16).astype(np.int32)
            if fill:
                cv2.fillPoly(img, [p], colour, cv2.LINE_AA, shift=4)
            else:
                cv2.polylines(img, [p], False, colour, max(1, thick), cv2.LINE_AA, shift=4)

        s = max(1, T // 64)
        poly(range(17, 22), (0.25, 0.16, 0.1), False, 2 * s)
        poly(range(22, 27), (0.25, 0.16, 0.1), False, 2 * s)
        for eye in (range(36, 42), range(42, 48)):
            poly(eye, (0.93, 0.92, 0.9))
            c = uv[list(eye)].mean(0)
            cv2.circle(img, tuple(int(v) for v in np.round(c)), max(1, int(0.35 * np.ptp(uv[list(eye), 0]))),
                       (0.2, 0.3, 0.45), -1, cv2.LINE_AA)
            poly(list(eye) + [eye[0]], (0.1, 0.07, 0.06), False, s)
        poly(range(48, 60), (0.72, 0.33, 0.33))
        poly(range(60, 68), (0.45, 0.15, 0.15))
        for k in (31, 35):
            cv2.circle(img, tuple(int(v) for v in np.round(uv[k])), s, (0.35, 0.2, 0.18), -1, cv2.LINE_AA)
        for m in self.topology.salient_uv * T:
            cv2.circle(img, tuple(int(v) for v in np.round(m)), max(1, T // 100), (0.3, 0.18, 0.12), -1, cv2.LINE_AA)
        self._albedo[T] = img
        return img


Performance = Callable[[int], tuple[object, np.ndarray, np.ndarray]]  # frame -> (expr, rot (3,), shift (2,))


@dataclass(frozen=True)
class PersonInfo:
    """The person the synthetic source renders, with its performance and where they came from."""

    person: object  # has .topology, .geometry(expr) and .albedo(T)
    performance: Performance  # frame i (30 FPS) -> (expr weights, rot (rx, ry, rz), shift (2,) model units)
    notice: str  # "" when the studio's person and performance are used


def analytic_performance(seed: int = 0, fps: float = 30.0) -> Performance:
    """Fallback webcam user: talking, smiling, brow raises, head turns (+-30 deg yaw), nods."""
    ph = np.random.default_rng(seed).uniform(0, 2 * np.pi, 8)

    def at(i: int) -> tuple[object, np.ndarray, np.ndarray]:
        t = i / fps
        s = lambda period, k: float(np.sin(2 * np.pi * t / period + ph[k]))
        expr = {"jaw_open": 0.8 * max(0.0, s(1.3, 0)) ** 2 * (0.5 + 0.5 * s(6.0, 1)),
                "smile": 0.5 + 0.5 * s(9.0, 2), "brow_raise": max(0.0, s(4.3, 3)) ** 4}
        rot = np.array([0.22 * s(5.1, 4), 0.5 * s(7.3, 5), 0.1 * s(9.7, 6)])
        return expr, rot, np.array([0.06 * s(11.0, 7), 0.04 * s(8.0, 4)])

    return at


def studio_performance(seed: int = 0, minutes: float = 2.0) -> Performance:
    """``studio.performance.performance`` (30 FPS), played forwards then backwards (no jump at the loop)."""
    from studio.performance import performance

    n = int(30 * 60 * minutes)
    p = performance(seed, n)

    def at(i: int) -> tuple[object, np.ndarray, np.ndarray]:
        k = i % (2 * n - 2)
        k = k if k < n else 2 * n - 2 - k
        return p.expr[k], p.rot[k], p.shift[k]

    return at


_CACHE: dict[int, PersonInfo] = {}
_LOCK = threading.Lock()


def load_person(seed: int = 0) -> PersonInfo:
    """The studio's person and performance when they load, else the painted fallback (with a notice).
    Cached per seed (a person is read-only once built; building one takes about a second)."""
    with _LOCK:
        if seed not in _CACHE:
            _CACHE[seed] = _load_person(seed)
        return _CACHE[seed]


def _load_person(seed: int) -> PersonInfo:
    notes = []
    try:
        from studio.head import Person

        person: object = Person(seed)
    except Exception as e:  # the head asset missing or the studio broken: say so once
        person = FallbackPerson(seed)
        notes.append(f"studio person unavailable ({type(e).__name__}: {e}); using the app's painted fallback "
                     f"person on topology {person.topology.name!r}")  # type: ignore[attr-defined]
    perf: Performance
    if isinstance(person, FallbackPerson):
        perf = analytic_performance(seed)
    else:
        try:
            perf = studio_performance(seed)
        except Exception as e:
            perf = analytic_performance(seed)
            notes.append(f"studio performance unavailable ({type(e).__name__}: {e}); using a simple analytic one")
    notice = "synthetic actor: " + "; ".join(notes) if notes else ""
    if notice:
        log.warning(notice)
    return PersonInfo(person, perf, notice)
