"""Switching the live tracker to another avatar bundle between two frames, without Qt.

:func:`prepare` loads the bundle and builds a warmed-up :class:`models.tracker.Tracker` for it with
the current tracker's settings (device, smoothing, texture rate, inference backend, expression
source) - slow, so off the tracking thread. :func:`install` then runs *in the tracking thread*
(``TrackingWorker.call_soon``): it hands the new tracker the current landmark detector, swaps it
into the pipeline, replaces the drawer when the mesh topology differs (the drawer owns GL
resources of the tracking thread) and forgets the face track. The tracking thread never stops.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from models import bundle as B
from models.tracker import Tracker

from .bundles import BundleChoice, bundle_fingerprint
from .drawing import FrameDrawer
from .frame import Pipeline
from .render_process import ProcessDrawer

log = logging.getLogger(__name__)


class SwapError(RuntimeError):
    """The avatar cannot be loaded; the live one stays."""


@dataclass(frozen=True)
class Prepared:
    tracker: Tracker
    choice: BundleChoice
    fingerprint: str


def prepare(path: str | Path, like: Tracker, description: str = "") -> Prepared:
    """Load the bundle at ``path`` and build a tracker configured like ``like`` (any thread)."""
    try:
        bundle = B.load(path)
    except B.BundleError as e:
        raise SwapError(str(e)) from e
    try:
        tracker = _like(bundle, like)
    except ValueError as e:  # e.g. the guide in use needs a direction the new bundle lacks
        raise SwapError(f"{path}: {e}") from e
    tracker.warm_up()
    choice = BundleChoice(bundle, str(path), description or f"{Path(path).name} ({bundle.cfg.name} profile)")
    return Prepared(tracker, choice, bundle_fingerprint(bundle))


def _like(bundle, like: Tracker) -> Tracker:
    """A tracker for ``bundle`` with the settings of ``like`` (smoothing, backend, expressions, guide, gaze,
    landmark corrective; the new avatar's corrective starts afresh: its points differ)."""
    return Tracker(bundle, like.device, like.detector, smoothing=like.smoother.strength,
                   texture_every=like.texture_every, infer_backend=like.infer_backend,
                   expression_source=like.expression_source, guide=like.guide_spec, guide_gain=like.guide_gain,
                   gaze=like.gaze is not None, landmark_identity=like.identity is not None,
                   expression_layer=like.expression_layer_on, texture_async=like.texture_async,
                   eye_match=like.eye_match, mouth_match=like.mouth_match)


def carry_choices(old: Tracker, new: Tracker) -> None:
    """The user's current choices (smoothing, guide, gaze, landmark corrective, expression layer) onto
    ``new``: they may have changed since ``new`` was prepared (or, for the default avatar, since it was
    last in use). Call in the tracking thread."""
    if new.smoother.strength != old.smoother.strength:
        new.set_smoothing(old.smoother.strength)
    if (new.guide_spec, new.guide_gain) != (old.guide_spec, old.guide_gain):
        new.set_guide(old.guide_spec, old.guide_gain)
    if (new.gaze is None) != (old.gaze is None):
        new.set_gaze(old.gaze is not None)
    if (new.identity is None) != (old.identity is None):
        new.set_landmark_identity(old.identity is not None)
    if new.expression_layer_on != old.expression_layer_on:
        new.set_expression_layer(old.expression_layer_on)
    if (new.eye_match, new.mouth_match) != (old.eye_match, old.mouth_match):
        new.set_matching(old.eye_match, old.mouth_match)
    if new.expression_source != old.expression_source:
        new.set_expression_source(old.expression_source)


def install(pipeline: Pipeline, tracker: Tracker) -> None:
    """Swap ``tracker`` in (call in the tracking thread, between frames)."""
    old = pipeline.tracker
    tracker.detector = old.detector  # the detector the source switches gave the live tracker
    carry_choices(old, tracker)
    if tracker.device != old.device:  # the device was switched while the new tracker was built
        from .setup import move_tracker

        move_tracker(tracker, old.device)
    pipeline.tracker = tracker
    drawer = pipeline.drawer
    if drawer is not None and drawer.topology.digest() != tracker.bundle.topology.digest():
        topo = tracker.bundle.topology
        new = ProcessDrawer(topo) if isinstance(drawer, ProcessDrawer) else FrameDrawer(topo, drawer.gl)
        drawer.release()
        pipeline.set_drawer(new)
    pipeline.reset()
    log.info("avatar switched to %s", tracker.bundle.manifest.get("name", tracker.cfg.name))
