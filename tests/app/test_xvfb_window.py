"""One real window on an X server (Xvfb): it opens, tracks, and a screenshot PNG is saved to
tests/_artifacts/app_window.png."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

REPO = Path(__file__).resolve().parents[2]


def free_display() -> int:
    for n in range(90, 200):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise RuntimeError("no free X display number in :90-:199")


@pytest.fixture()
def xvfb():
    exe = shutil.which("Xvfb")
    if exe is None:
        pytest.skip("Xvfb is not installed (apt-get install -y xvfb): the real-window screenshot test needs an "
                    "X server; `bash scripts/install.sh --dev` installs it")
    n = free_display()
    proc = subprocess.Popen([exe, f":{n}", "-screen", "0", "1400x860x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 10
    while not Path(f"/tmp/.X11-unix/X{n}").exists():
        if proc.poll() is not None or time.time() > deadline:
            err = proc.stderr.read().decode(errors="replace")[-500:] if proc.stderr else ""
            proc.kill()
            pytest.skip(f"Xvfb :{n} did not start: {err}")
        time.sleep(0.05)
    yield n
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_real_window_under_xvfb_saves_a_screenshot(xvfb, tiny_bundle, artifacts, tmp_path):
    out = artifacts / "app_window.png"
    out.unlink(missing_ok=True)
    env = dict(os.environ, DISPLAY=f":{xvfb}", QT_QPA_PLATFORM="xcb", ROOMFIT_DATA_DIR=str(tmp_path / "data"),
               ROOMFIT_SETTINGS=str(tmp_path / "settings.ini"))
    r = subprocess.run([sys.executable, "-m", "app.tools.snapshot", str(out), "--bundle", str(tiny_bundle),
                        "--seconds", "3"], cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert "platform xcb" in r.stdout, r.stdout
    img = cv2.imread(str(out))
    assert img is not None and img.shape[0] >= 600 and img.shape[1] >= 1000
    assert img.std() > 20, "the screenshot must show the window, not a blank screen"
