"""The guided enrollment recording: its prompts, and a live check that each prompt was covered.

Pure Python + numpy (no Qt): the window's enrollment dialog and the enrollment engine
(``python -m studio enroll``, which names the prompts to redo) both import it.

:class:`PromptCoverage` is fed, per frame, the detector's 68 iBUG points (frame pixels) while a
prompt is on screen, and decides whether the prompt was done. Every measure is size-free (divided
by the outer-eye-corner distance |L36 - L45|, as :mod:`models.face_signals`) and every decision is
*relative to the person's own look_straight frames* (their medians), so the thresholds are the
same for everyone - fixed fractions, not tuned on any clip:

- head yaw   = offset of the nose tip (L30) from the midpoint of the outer eye corners, along the
  eye line (image right positive), / eye distance. The nose tip stands ~0.4 eye distances in front
  of the eye corners, so a 15-20 degree turn moves it by ~0.12: ``yaw`` = 0.12;
- head pitch = the same offset across the eye line (image down positive), / eye distance: chin up
  moves the nose tip towards the eyes, chin down away from them; ``pitch`` = 0.06 (~10 degrees);
- mouth opening (|L62 - L66|) must grow by ``mouth_open`` = 0.20 eye distances (a wide-open mouth
  gains 0.3-0.5); mouth width (|L48 - L54|) and brow height must grow by 8 % / 10 %
  (``smile`` 1.08, ``brows`` 1.10);
- eye opening (mean of both eyes) counts as closed below ``closed`` = 60 % of the open level; a
  blink needs a closed frame followed by an open one (above 80 %), close_eyes needs a third of the
  prompt's face frames closed.

Each decision reads a robust extreme (the 85th percentile of the prompt's frames in the asked
direction), so a single mis-detected frame neither covers a prompt nor spoils it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.face_signals import face_signals, interocular


@dataclass(frozen=True)
class Prompt:
    name: str
    text: str  # what the dialog shows
    seconds: float


PROMPTS: tuple[Prompt, ...] = (
    Prompt("look_straight", "Look straight into the camera and keep still", 3.0),
    Prompt("turn_left", "Slowly turn your head to your left", 3.0),
    Prompt("turn_right", "Slowly turn your head to your right", 3.0),
    Prompt("look_up", "Tilt your head up (chin up)", 3.0),
    Prompt("look_down", "Tilt your head down (chin down)", 3.0),
    Prompt("smile", "Smile broadly", 3.0),
    Prompt("open_mouth", "Open your mouth wide", 3.0),
    Prompt("raise_brows", "Raise your eyebrows", 3.0),
    Prompt("blink", "Blink a few times", 3.0),
    Prompt("close_eyes", "Close your eyes and keep them closed", 3.0),
)
PROMPT_NAMES: tuple[str, ...] = tuple(p.name for p in PROMPTS)
PROMPT_BY_NAME = {p.name: p for p in PROMPTS}
TOTAL_SECONDS = sum(p.seconds for p in PROMPTS)


@dataclass(frozen=True)
class CoverageThresholds:
    """Fractions of the eye-corner distance (or ratios to the look_straight medians); see the module docstring."""

    yaw: float = 0.12
    pitch: float = 0.06
    straight_yaw: float = 0.15  # |yaw| of the look_straight median: more is not facing the camera
    mouth_open: float = 0.20
    smile: float = 1.08
    brows: float = 1.10
    closed: float = 0.60
    reopened: float = 0.80
    closed_share: float = 1 / 3
    percentile: float = 85.0
    min_frames: int = 5


@dataclass(frozen=True)
class PromptCheck:
    name: str
    covered: bool
    reason: str  # "" when covered, else what to do ("turn further left")
    frames: int  # frames with a face while the prompt was on screen
    value: float = float("nan")  # the measured gain (for the log / tests)
    needed: float = float("nan")


def frame_measures(L: np.ndarray) -> dict[str, float]:
    """68 points (frame pixels) -> yaw, pitch, mouth_open, mouth_width, brow_height, eye_open (size-free)."""
    L = np.asarray(L, np.float64).reshape(68, 2)
    d = max(float(interocular(L)), 1e-9)
    u = (L[45] - L[36]) / d
    if u[0] < 0:  # a mirrored labelling: measure along image right either way
        u = -u
    v = np.array([-u[1], u[0]])  # across the eye line, image down
    off = (L[30] - (L[36] + L[45]) / 2) / d
    s = face_signals(L)
    return {"yaw": float(off @ u), "pitch": float(off @ v), "mouth_open": float(s["mouth_open"]),
            "mouth_width": float(s["mouth_width"]), "brow_height": float(s["brow_height"]),
            "eye_open": float((s["eye_open_l"] + s["eye_open_r"]) / 2)}


class PromptCoverage:
    """Collects per-prompt landmark measures and says which prompts were covered.

    ``mirrored``: the landmarks come from a mirrored (selfie) image, which swaps left and right.
    """

    def __init__(self, thresholds: CoverageThresholds | None = None, mirrored: bool = False) -> None:
        self.t = thresholds or CoverageThresholds()
        self.mirrored = mirrored
        self._frames: dict[str, list[dict[str, float]]] = {n: [] for n in PROMPT_NAMES}
        self._seen: dict[str, int] = {n: 0 for n in PROMPT_NAMES}

    def reset(self, prompt: str) -> None:
        """Forget a prompt's frames (it is being recorded again)."""
        self._frames[prompt] = []
        self._seen[prompt] = 0

    def add(self, prompt: str, landmarks: np.ndarray | None) -> None:
        """One frame shown while ``prompt`` was on screen (None: no face in it)."""
        self._seen[prompt] += 1
        if landmarks is None:
            return
        L = np.asarray(landmarks, np.float64)
        if L.shape != (68, 2) or not np.isfinite(L).all() or interocular(L) < 1.0:
            return
        self._frames[prompt].append(frame_measures(L))

    def _series(self, prompt: str, key: str) -> np.ndarray:
        return np.array([m[key] for m in self._frames[prompt]], np.float64)

    def baseline(self) -> dict[str, float] | None:
        """Medians of the look_straight frames (None until there are enough)."""
        if len(self._frames["look_straight"]) < self.t.min_frames:
            return None
        return {k: float(np.median(self._series("look_straight", k))) for k in self._frames["look_straight"][0]}

    def check(self, prompt: str) -> PromptCheck:
        t, n = self.t, len(self._frames[prompt])
        if n < t.min_frames:
            why = "no face seen - keep your face in view and well lit" if n == 0 else \
                "the face was seen too rarely - keep it in view and well lit"
            return PromptCheck(prompt, False, why, n)
        base = self.baseline()
        if prompt == "look_straight":
            yaw = abs(base["yaw"])  # type: ignore[index]
            ok = yaw <= t.straight_yaw
            return PromptCheck(prompt, ok, "" if ok else "face the camera squarely", n, yaw, t.straight_yaw)
        if base is None:
            return PromptCheck(prompt, False, "record 'look straight' first", n)
        return self._judge(prompt, base, n)

    def _extreme(self, x: np.ndarray) -> float:
        return float(np.percentile(x, self.t.percentile))

    def _judge(self, prompt: str, base: dict[str, float], n: int) -> PromptCheck:
        t = self.t
        left = -1.0 if self.mirrored else 1.0  # the subject's left is image right in a camera image
        if prompt in ("turn_left", "turn_right"):
            sign = left if prompt == "turn_left" else -left
            dyaw = self._series(prompt, "yaw") - base["yaw"]
            gain, other = self._extreme(sign * dyaw), self._extreme(-sign * dyaw)
            side, opposite = ("left", "right") if prompt == "turn_left" else ("right", "left")
            why = f"that was a turn to your {opposite} - turn to your {side}" if other >= t.yaw else \
                f"turn further {side}"
            return self._verdict(prompt, gain, t.yaw, why, n)
        if prompt in ("look_up", "look_down"):
            sign = -1.0 if prompt == "look_up" else 1.0
            gain = self._extreme(sign * (self._series(prompt, "pitch") - base["pitch"]))
            return self._verdict(prompt, gain, t.pitch, f"tilt your head further {prompt[5:]}", n)
        if prompt == "open_mouth":
            gain = self._extreme(self._series(prompt, "mouth_open") - base["mouth_open"])
            return self._verdict(prompt, gain, t.mouth_open, "open your mouth wider", n)
        if prompt == "smile":
            gain = self._extreme(self._series(prompt, "mouth_width")) / max(base["mouth_width"], 1e-9)
            return self._verdict(prompt, gain, t.smile, "smile wider (show your teeth)", n)
        if prompt == "raise_brows":
            gain = self._extreme(self._series(prompt, "brow_height")) / max(base["brow_height"], 1e-9)
            return self._verdict(prompt, gain, t.brows, "raise your eyebrows higher", n)
        eye = self._series(prompt, "eye_open") / max(base["eye_open"], 1e-9)
        closed = eye < t.closed
        if prompt == "blink":
            first = int(np.argmax(closed)) if closed.any() else n
            reopened = bool((eye[first:] > t.reopened).any())
            ok = bool(closed.any()) and reopened
            why = "no blink seen - blink clearly" if not closed.any() else "open your eyes again after the blink"
            return PromptCheck(prompt, ok, "" if ok else why, n, float(eye.min()), t.closed)
        if prompt == "close_eyes":
            share = float(closed.mean())
            why = "close your eyes fully" if not closed.any() else "keep your eyes closed longer"
            return self._verdict(prompt, share, t.closed_share, why, n)
        raise KeyError(f"unknown prompt {prompt!r}; the prompts are {', '.join(PROMPT_NAMES)}")

    @staticmethod
    def _verdict(prompt: str, gain: float, needed: float, why: str, n: int) -> PromptCheck:
        ok = bool(gain >= needed)
        return PromptCheck(prompt, ok, "" if ok else why, n, gain, needed)

    def report(self) -> dict[str, PromptCheck]:
        """Every prompt's check, in prompt order."""
        return {name: self.check(name) for name in PROMPT_NAMES}

    def missing(self) -> list[str]:
        return [name for name, c in self.report().items() if not c.covered]
