"""App test fixtures: a tiny avatar bundle, isolated settings/profile folders, a window on the
synthetic actor, and helpers that wait on the event loop."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch

from models import bundle as B
from models.config import profile

SMALL = ["--size", "320x240"]


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory) -> Path:
    """An untrained tiny avatar (crop 64, z 16, texture 32, test mesh) saved as a bundle."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        b = B.build(profile("tiny"), load_pretrained=False)
    return B.save(b, tmp_path_factory.mktemp("bundles") / "tiny")


@pytest.fixture()
def app_env(tmp_path, monkeypatch, tiny_bundle):
    """Settings and room profiles in tmp; the 'default avatar' is the tiny bundle."""
    monkeypatch.setenv("ROOMFIT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ROOMFIT_SETTINGS", str(tmp_path / "settings.ini"))
    monkeypatch.setattr("app.pipeline.bundles.DEFAULT_BUNDLE", Path(tiny_bundle))
    from app.gui.settings import Settings

    s = Settings()
    s.set("width", 320)
    s.set("height", 240)
    s.set("calib/steps", 8)
    s.sync()
    return tmp_path


def make_args(*argv: str):
    from app.cli import build_parser

    return build_parser().parse_args(list(argv))


@pytest.fixture()
def make_window(qtbot, app_env, tiny_bundle):
    """Factory: a window on ``source`` (spec text or a FrameSource) with the tiny bundle."""
    windows = []

    def make(source="synthetic:lab", *argv: str, source_obj=None, spec=None, isolate=False):
        from app.gui.main import create_window
        from app.sources import make_source

        args = make_args("--bundle", str(tiny_bundle), "--source", source, *argv)
        factory = partial(make_source, isolate=isolate)  # in-thread synthetic actor: faster start in tests
        w = create_window(args, cameras=[], source=source_obj, source_spec=spec, source_factory=factory)
        w.session.retry_s = 0.2
        qtbot.addWidget(w)
        w.show()
        windows.append(w)
        return w

    yield make
    for w in windows:
        w.close()


class PacketLog:
    """Collects the packets a session delivers to the GUI."""

    def __init__(self, session) -> None:
        self.packets = []
        session.packet.connect(self.packets.append)

    def wait(self, qtbot, n: int = 1, cond=lambda p: True, timeout: float = 20.0):
        start = len(self.packets)

        def ok():
            hits = [p for p in self.packets[start:] if cond(p)]
            assert len(hits) >= n, f"{len(hits)} of {n} packets after {len(self.packets) - start} delivered"

        qtbot.waitUntil(ok, timeout=int(timeout * 1000))
        return [p for p in self.packets[start:] if cond(p)]


def wait_for(qtbot, fn, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.time() + timeout

    def ok():
        assert fn(), f"timed out waiting for {what}"

    qtbot.waitUntil(ok, timeout=int(1000 * max(0.1, deadline - time.time())))


def solid_frames(n: int = 4, size=(240, 320)) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (*size, 3), dtype=np.uint8) for _ in range(n)]
