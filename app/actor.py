"""The synthetic person the live synthetic source renders.

Prefers the studio's procedural person (``studio.head.Person(seed)`` with ``topology``,
``geometry(expr)`` and ``albedo(T)``) and its performances
(``studio.performance.performance(seed, n_frames)``). Until those exist (or when they fail
to load) it falls back to :class:`FallbackPerson`: the template topology (``head_v1`` asset
when present, else the generated test mesh) with a painted albedo and a few expression
directions, driven by :func:`analytic_performance`. :func:`load_person` says which one it
picked (``PersonInfo.notice``), once, so the GUI can show it.
"""

from __future__ import annotations

import importlib
import logging
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


@dataclass(frozen=True)
class PersonInfo:
    """The person the synthetic source renders, with its performance and where they came from."""

    person: object  # has .topology, .geometry(expr) and .albedo(T)
    performance: Callable[[float], tuple[dict[str, float], np.ndarray]]  # t (s) -> (expr, (rx, ry, rz, dx, dy))
    notice: str  # "" when the studio's person is used


def analytic_performance(seed: int = 0) -> Callable[[float], tuple[dict[str, float], np.ndarray]]:
    """A webcam user: talking, smiling, brow raises, head turns (+-30 deg yaw), nods.

    Returns ``f(t_seconds) -> (expression weights, (rx, ry, rz, dx, dy))`` with dx, dy the head
    offset in units of the frame height.
    """
    ph = np.random.default_rng(seed).uniform(0, 2 * np.pi, 8)

    def at(t: float) -> tuple[dict[str, float], np.ndarray]:
        s = lambda period, k: float(np.sin(2 * np.pi * t / period + ph[k]))
        expr = {"jaw_open": 0.8 * max(0.0, s(1.3, 0)) ** 2 * (0.5 + 0.5 * s(6.0, 1)),
                "smile": 0.5 + 0.5 * s(9.0, 2), "brow_raise": max(0.0, s(4.3, 3)) ** 4}
        pose = np.array([0.22 * s(5.1, 4), 0.5 * s(7.3, 5), 0.1 * s(9.7, 6), 0.04 * s(11.0, 7), 0.03 * s(8.0, 4)])
        return expr, pose

    return at


def load_person(seed: int = 0) -> PersonInfo:
    """The studio's person when ``studio.head`` is importable, else :class:`FallbackPerson`."""
    try:
        head = importlib.import_module("studio.head")
        person = head.Person(seed)
        notice = ""
    except Exception as e:  # studio not there yet, or broken: say so once
        person = FallbackPerson(seed)
        notice = (f"synthetic actor: studio.head.Person is unavailable ({type(e).__name__}: {e}); "
                  f"using the app's painted fallback person on topology {person.topology.name!r}")
        log.warning(notice)
    return PersonInfo(person, _studio_performance(seed, person) or analytic_performance(seed), notice)


def _studio_performance(seed: int, person: object) -> Callable[[float], tuple[dict[str, float], np.ndarray]] | None:
    """Wrap ``studio.performance.performance(seed, n_frames)`` (30 FPS) when it exists and looks like
    ``{"expr": list[dict] | (N, K) with "names", "pose"/"rotation": (N, 3)}``; else None."""
    try:
        perf_mod = importlib.import_module("studio.performance")
        n = 30 * 60
        p = perf_mod.performance(seed, n)
        get = (lambda k: p[k]) if isinstance(p, dict) else (lambda k: getattr(p, k))
        expr = get("expr")
        rot = np.asarray(get("rotation") if _has(p, "rotation") else get("pose"), np.float64)[:, :3]
        if not isinstance(expr, list):
            names = list(get("names"))
            expr = [dict(zip(names, map(float, row))) for row in np.asarray(expr)]
    except Exception as e:
        log.info("studio.performance not used (%s: %s); analytic performance instead", type(e).__name__, e)
        return None

    def at(t: float) -> tuple[dict[str, float], np.ndarray]:
        k = int(t * 30) % (2 * n - 2)
        k = k if k < n else 2 * n - 2 - k  # ping-pong: no jump at the loop
        return expr[k], np.array([*rot[k], 0.0, 0.0])

    return at


def _has(p: object, key: str) -> bool:
    return key in p if isinstance(p, dict) else hasattr(p, key)
