"""Seeded performances of a studio person: expression weights and head pose over time.

:func:`performance` returns a :class:`Performance` at ``fps`` frames per second with
talking (syllable-rate jaw and lip motion in phrases separated by pauses), smiles,
blinks (every 3-5 s, ~150 ms), brow motion, occasional other expressions, head turns up
to +-45 deg yaw and +-25 deg pitch (minimum-jerk moves at webcam-user speeds, peak
~60-120 deg/s), nods and a slow drift of the head in the image plane.

Kinds: ``mixed`` (everything), ``talk`` (speech, blinks, small head motion), ``expressive``
(expressions, moderate head motion), ``head`` (head motion and blinks only), ``still``
(blinks only, frontal), ``crowd`` (the crowd encoder's training clips: speech, expressions twice as
often, blinks every 1.2-3.5 s with half blinks (amplitude 0.35-1) and winks (15 %), moderate head
motion), ``gaze`` (the crowd clip plus eye movements: fixations of 0.3-1.5 s, half of them straight
ahead, the others up to +-20 deg yaw / +-14 deg pitch, joined by ~50 ms saccades; both eyes alike),
``winks`` (speech and blinks every 1.2-3.5 s of which half are winks, small head motion: what the
expression layer's one-eye blinks are measured on).
``Performance.gaze`` (N, 2, 2) radians (:mod:`models.gaze` convention); None (straight ahead) for every other kind.
Pose convention: ``rot = (rx, ry, rz)`` in radians with
``R = Rz @ Ry @ Rx`` (:mod:`models.camera`): ry is yaw, rx pitch, rz roll.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from studio.expressions import EXPRESSION_NAMES

KINDS = ("mixed", "talk", "expressive", "head", "still", "crowd", "gaze", "winks")  # new kinds go last (seeds)
MAX_YAW, MAX_PITCH, MAX_ROLL = np.radians(45.0), np.radians(25.0), np.radians(10.0)


@dataclass(frozen=True)
class Performance:
    """expr (N, E) float32 in [0, 1] (columns: ``names``), rot (N, 3) float32 radians,
    shift (N, 2) float32 model units (image-plane offset of the head)."""

    expr: np.ndarray
    rot: np.ndarray
    shift: np.ndarray
    fps: float
    names: tuple
    seed: int
    kind: str
    gaze: np.ndarray | None = None  # (N, 2, 2) yaw/pitch per eye (models.gaze convention), None = ahead

    @property
    def n_frames(self) -> int:
        return len(self.expr)

    def expr_dict(self, i: int) -> dict:
        return {n: float(w) for n, w in zip(self.names, self.expr[i]) if w != 0.0}


def _envelope(t: np.ndarray, t0: float, hold: float, attack: float, release: float) -> np.ndarray:
    """Smooth 0 -> 1 -> 0 pulse: rise over ``attack`` from t0, hold, fall over ``release``."""
    a = np.clip((t - t0) / attack, 0.0, 1.0)
    r = np.clip((t - t0 - attack - hold) / release, 0.0, 1.0)
    s = lambda u: u * u * (3 - 2 * u)
    return s(a) * (1.0 - s(r))


def _min_jerk(u: np.ndarray) -> np.ndarray:
    return u**3 * (10 - 15 * u + 6 * u * u)


def _events(rng: np.random.Generator, duration: float, gap: tuple, start: tuple = (0.3, 2.0)) -> list[float]:
    t, out = rng.uniform(*start), []
    while t < duration:
        out.append(t)
        t += rng.uniform(*gap)
    return out


def _talk(rng, t: np.ndarray, E: dict, amount: float) -> None:
    T = t[-1] + 1e-9
    phrase_t = rng.uniform(0.0, 1.0)
    while phrase_t < T:
        length = rng.uniform(1.5, 5.0)
        s = phrase_t
        while s < phrase_t + length:  # syllables at ~3.5-6 Hz
            dur = rng.uniform(0.16, 0.28)
            env = _envelope(t, s, 0.2 * dur, 0.45 * dur, 0.55 * dur)
            E["jaw_open"] += amount * rng.uniform(0.12, 0.5) * env
            viseme = rng.choice(["pucker", "funnel", "lip_press", "mouth_left", "mouth_right", "none", "none"])
            if viseme != "none":
                E[viseme] += amount * rng.uniform(0.2, 0.6) * env
            s += dur
        emph = _envelope(t, phrase_t + rng.uniform(0, length), rng.uniform(0.2, 0.6), 0.25, 0.4)
        E["brow_raise"] += amount * rng.uniform(0.0, 0.6) * emph
        phrase_t += length + rng.uniform(0.4, 2.0)


def _expressions(rng, t: np.ndarray, E: dict, amount: float) -> None:
    T = t[-1] + 1e-9
    for t0 in _events(rng, T, (2.0, 6.0), (0.5, 3.0)):
        hold, att, rel = rng.uniform(0.4, 2.5), rng.uniform(0.2, 0.5), rng.uniform(0.3, 0.8)
        env = _envelope(t, t0, hold, att, rel)
        kind = rng.choice(["smile", "smile", "smile", "brow_raise", "brow_frown", "cheek_puff", "sneer", "frown",
                           "squint", "pucker", "jaw_open", "smirk"])
        k = amount * rng.uniform(0.4, 1.0)
        if kind == "smile":
            a = rng.uniform(-0.15, 0.15)
            E["smile_L"] += k * (1 + a) * env
            E["smile_R"] += k * (1 - a) * env
            E["squint_L"] += 0.4 * k * env
            E["squint_R"] += 0.4 * k * env
        elif kind == "smirk":
            E["smile_L" if rng.random() < 0.5 else "smile_R"] += k * env
        elif kind == "squint":
            E["squint_L"] += k * env
            E["squint_R"] += k * env
        else:
            E[kind] += k * env


def _blinks(rng, t: np.ndarray, E: dict) -> None:
    for t0 in _events(rng, t[-1] + 1e-9, (3.0, 5.0), (0.5, 3.0)):
        close, hold, opn = rng.uniform(0.05, 0.07), rng.uniform(0.0, 0.03), rng.uniform(0.07, 0.1)
        env = _envelope(t, t0, hold, close, opn)
        left, right = (1.0, 1.0) if rng.random() >= 0.05 else ((1.0, 0.0) if rng.random() < 0.5 else (0.0, 1.0))
        E["blink_L"] += left * env
        E["blink_R"] += right * env


def _blink_events(rng, t: np.ndarray, E: dict, start: tuple, hold: tuple, full_p: float, partial: tuple,
                  wink_p: float) -> None:
    """Blinks every 1.2-3.5 s: held ``hold`` s, at full strength with probability ``full_p`` (else a
    partial one in ``partial``), one-eyed (either side) with probability ``wink_p``."""
    for t0 in _events(rng, t[-1] + 1e-9, (1.2, 3.5), start):
        close, held, opn = rng.uniform(0.05, 0.08), rng.uniform(*hold), rng.uniform(0.07, 0.14)
        env = _envelope(t, t0, held, close, opn) * (1.0 if rng.random() < full_p else rng.uniform(*partial))
        left, right = (1.0, 1.0) if rng.random() >= wink_p else ((1.0, 0.0) if rng.random() < 0.5 else (0.0, 1.0))
        E["blink_L"] += left * env
        E["blink_R"] += right * env


def _dense_blinks(rng, t: np.ndarray, E: dict) -> None:
    """Blinks as users make them on camera: frequent, some partial, some one-eyed (winks)."""
    _blink_events(rng, t, E, start=(0.2, 1.5), hold=(0.0, 0.12), full_p=0.6, partial=(0.35, 0.9), wink_p=0.15)


def _winks(rng, t: np.ndarray, E: dict) -> None:
    """Half of the blinks one-eyed, held longer (50-250 ms), some partial."""
    _blink_events(rng, t, E, start=(0.3, 1.0), hold=(0.05, 0.25), full_p=0.7, partial=(0.5, 0.9), wink_p=0.5)


def _gaze(rng, t: np.ndarray) -> np.ndarray:
    """Fixations and saccades (see the module docstring). -> (N, 2, 2), the same for both eyes."""
    g = np.zeros((len(t), 2))
    t0, prev = 0.0, np.zeros(2)
    while t0 < t[-1] + 1e-9:
        hold = rng.uniform(0.3, 1.5)
        target = np.zeros(2) if rng.random() < 0.5 else rng.uniform([-0.35, -0.25], [0.35, 0.25])
        u = np.clip((t - t0) / 0.05, 0.0, 1.0)
        seg = (t >= t0) & (t < t0 + hold)
        g[seg] = prev + (target - prev) * _min_jerk(u[seg])[:, None]
        t0, prev = t0 + hold, target
    return np.repeat(g[:, None], 2, axis=1)


def _head(rng, t: np.ndarray, scale: float, fps: float) -> tuple[np.ndarray, np.ndarray]:
    n = len(t)
    rot = np.zeros((n, 3))
    cur = np.zeros(3)
    s = rng.uniform(0.2, 1.0)
    while s < t[-1]:
        r = rng.random()
        tgt = np.array([rng.normal(0, 0.25) * MAX_PITCH, rng.normal(0, 0.25) * MAX_YAW, rng.normal(0, 0.3) * MAX_ROLL])
        if r < 0.35:
            tgt[1] = rng.choice([-1, 1]) * rng.uniform(0.5, 1.0) * MAX_YAW
        elif r < 0.55:
            tgt[0] = rng.choice([-1, 1]) * rng.uniform(0.4, 1.0) * MAX_PITCH
        tgt = np.clip(tgt * scale, [-MAX_PITCH, -MAX_YAW, -MAX_ROLL], [MAX_PITCH, MAX_YAW, MAX_ROLL])
        dist = np.degrees(np.abs(tgt - cur).max())
        dur = max(0.35, dist / rng.uniform(45.0, 70.0))  # mean speed; minimum-jerk peak is 1.9x
        u = _min_jerk(np.clip((t - s) / dur, 0.0, 1.0))[:, None]
        after = t >= s
        rot[after] = (cur + u * (tgt - cur))[after]
        cur = tgt
        s += dur + rng.uniform(0.3, 2.0)
        if rng.random() < 0.25 * scale:  # a nod: a few pitch swings at ~2 Hz
            amp, nd = np.radians(rng.uniform(4, 9)), rng.uniform(0.6, 1.2)
            ph = np.clip((t - s) / nd, 0.0, 1.0)
            rot[:, 0] += amp * np.sin(2 * np.pi * 2.0 * nd * ph) * np.sin(np.pi * ph) ** 2
            s += nd + rng.uniform(0.2, 1.0)
    sig = 0.6 * fps
    drift = np.stack([gaussian_filter1d(rng.standard_normal(n), sig, mode="nearest") for _ in range(5)], -1)
    drift = drift / max(np.abs(drift).max(), 1e-9)
    rot += np.radians([2.0, 2.5, 1.5]) * drift[:, :3] * scale
    shift = 0.06 * drift[:, 3:] * max(scale, 0.3)
    rot = np.clip(rot, [-MAX_PITCH, -MAX_YAW, -MAX_ROLL], [MAX_PITCH, MAX_YAW, MAX_ROLL])
    return rot, shift


def performance(seed: int, n_frames: int, fps: float = 30.0, kind: str = "mixed") -> Performance:
    """A deterministic performance of ``n_frames`` frames for ``seed`` (see module docstring)."""
    if kind not in KINDS:
        raise ValueError(f"unknown performance kind {kind!r}; choose one of {', '.join(KINDS)}")
    if n_frames < 1:
        raise ValueError("n_frames must be >= 1")
    rng = np.random.default_rng([int(seed), KINDS.index(kind), 30])
    t = np.arange(n_frames) / float(fps)
    E = {n: np.zeros(n_frames) for n in EXPRESSION_NAMES}
    sub = [np.random.default_rng(rng.integers(2**63)) for _ in range(4)]
    if kind in ("mixed", "talk"):
        _talk(sub[0], t, E, 1.0)
    if kind in ("mixed", "expressive"):
        _expressions(sub[1], t, E, 1.0)
    if kind in ("crowd", "gaze"):  # two independent expression streams: twice as many events
        _talk(sub[0], t, E, 1.0)
        _expressions(sub[1], t, E, 1.0)
        _expressions(np.random.default_rng(sub[1].integers(2**63)), t, E, 0.8)
        _dense_blinks(sub[2], t, E)
    elif kind == "winks":
        _talk(sub[0], t, E, 0.6)
        _winks(sub[2], t, E)
    else:
        _blinks(sub[2], t, E)
    head_scale = {"mixed": 1.0, "talk": 0.35, "expressive": 0.5, "head": 1.0, "still": 0.0, "crowd": 0.7,
                  "gaze": 0.7, "winks": 0.35}[kind]
    rot, shift = _head(sub[3], t, head_scale, fps)
    expr = np.clip(np.stack([E[n] for n in EXPRESSION_NAMES], -1), 0.0, 1.0)
    gaze = _gaze(np.random.default_rng(sub[3].integers(2**63)), t).astype(np.float32) if kind == "gaze" else None
    return Performance(expr.astype(np.float32), rot.astype(np.float32), shift.astype(np.float32), float(fps),
                       tuple(EXPRESSION_NAMES), int(seed), kind, gaze)
