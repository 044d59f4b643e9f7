"""Persistent settings (QSettings) with typed defaults in one place.

Tests (and ``ROOMFIT_SETTINGS``) point it at an INI file so they never touch the user's settings.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QSettings

from ..pipeline.defaults import CALIB_STEPS, TWO_STAGE
from . import qt_compat  # noqa: F401  (before any other Qt use: PySide6 6.12 refcount guard)

ORG, APP = "roomfit", "roomfit-avatar"

DEFAULTS: dict[str, Any] = {
    "source": "",  # "" = first camera, else synthetic
    "width": 640,
    "height": 480,
    "fps": 30.0,
    "device": "auto",
    "smoothing": 0.5,
    "guide": "eyes,brows,smile,pucker",  # which expressions follow the detector (models.code_guide): a spec or "none"
    "expression_layer": True,  # eyes and lips matched to the user's on the avatar's mesh (models.expression_layer)
    "expression_source": "landmarks",  # where the named weights come from: landmarks | fit (models.landmark_fit)
    "mirror": False,
    "two_stage": TWO_STAGE,  # the detector of frame t+1 beside the networks of frame t (app.pipeline.loops)
    "loop_video": True,
    "overlay/landmarks": True,
    "overlay/detected": False,
    "overlay/wireframe": False,
    "overlay/salient": False,
    "overlay/box": True,
    "avatar/mode": "posed",
    "avatar/wireframe": False,
    "calib/seconds": 10.0,
    "calib/steps": CALIB_STEPS,
    "profile/last": "",
    "avatar/current": "",  # slug of the personal avatar in use ("" = the default avatar)
    "outputs/vmc": False,
    "outputs/vmc_host": "127.0.0.1",
    "outputs/vmc_port": 39539,
    "outputs/perfect_sync": False,
    "outputs/vcam": False,
    "outputs/vcam_mode": "avatar",
    "outputs/takes_dir": "",  # "" = <user data dir>/takes
}


SAVED_EXPRESSION_SOURCES = ("landmarks", "fit")  # the window's expressions choice ("head": command line only)


class Settings:
    """Typed access to QSettings; unknown keys raise KeyError (typos fail loudly)."""

    def __init__(self, path: str | None = None) -> None:
        path = path or os.environ.get("ROOMFIT_SETTINGS")
        self.q = QSettings(path, QSettings.Format.IniFormat) if path else QSettings(ORG, APP)

    def get(self, key: str) -> Any:
        default = DEFAULTS[key]
        v = self.q.value(key, default)
        if isinstance(default, bool):
            return v if isinstance(v, bool) else str(v).lower() in ("1", "true", "yes")
        try:
            return type(default)(v)
        except (TypeError, ValueError):
            return default

    def set(self, key: str, value: Any) -> None:
        if key not in DEFAULTS:
            raise KeyError(key)
        self.q.setValue(key, value)

    def expression_source(self) -> str:
        """The saved expressions choice; ``landmarks`` when it is not one this version knows (hand-edited,
        or written by another version)."""
        v = self.get("expression_source")
        return v if v in SAVED_EXPRESSION_SOURCES else "landmarks"

    def raw(self, key: str) -> Any:
        """Untyped values (window geometry/state bytes)."""
        return self.q.value(key)

    def set_raw(self, key: str, value: Any) -> None:
        self.q.setValue(key, value)

    def sync(self) -> None:
        self.q.sync()
