"""Create my avatar against the REAL enrollment engine (``python -m studio enroll``, small budget:
a tiny-sized default avatar on the studio head, 10 lab frames x 2 views, a few training steps) on a
synthetic clip of a studio person: progress to 100 %, the avatar registered and listed in the
Avatar menu, picked -> the live tracker runs on it, rename, delete; and cancel -> Resume.

The test also grabs the dialog during the prompts and during the enrollment, and the Avatar menu
listing the new avatar, into ``tests/_artifacts/enroll_real/`` (the pictures in docs/img/ are copies).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from app.pipeline.avatars import AvatarStore
from models import bundle as B
from models.config import profile
from models.files import sha256
from tests.studio.enroll_clips import render_clip

from .conftest import PacketLog, wait_for

pytestmark = pytest.mark.slow
SMALL_BUDGET = ("--lab-frames", "10", "--lab-views", "2", "--dam-steps", "6", "--i2z-steps", "4")
ENGINE_S = 400  # one small enrollment: ~75 s alone on 2 cores, more next to a tracking window
LATER = ("lab", "train", "verify", "write")


@pytest.fixture(scope="module")
def small_default(tmp_path_factory) -> Path:
    """A tiny-sized default avatar on the studio head (as tests/studio/test_enroll_pipeline.py)."""
    from studio.expressions import EXPRESSION_NAMES
    from studio.retarget import arkit_names

    cfg = profile("tiny").replace(topology="head_v1", expr_dim=len(EXPRESSION_NAMES))
    b = B.build(cfg, load_pretrained=False)
    b.manifest["expression_names"] = list(arkit_names(EXPRESSION_NAMES))
    return B.save(b, tmp_path_factory.mktemp("default") / "avatar", provenance={"person": 0}, include_encoder=True)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("clips") / "me.mp4"
    render_clip(p)  # 7 s, 20 fps, a studio person turning, blinking, opening the mouth
    return p


@pytest.fixture()
def real_engine(monkeypatch, small_default):
    engine = (sys.executable, "-m", "studio", "enroll", "--default-bundle", str(small_default), *SMALL_BUDGET)
    monkeypatch.setattr("app.pipeline.enroll_job.ENGINE", engine)
    return engine


@pytest.fixture()
def shots(artifacts) -> Path:
    d = artifacts / "enroll_real"
    d.mkdir(exist_ok=True)
    return d


def grab_menu(qtbot, menu, path: Path) -> None:
    from PySide6.QtCore import QPoint

    menu.popup(QPoint(40, 40))
    qtbot.waitExposed(menu)
    qtbot.wait(200)
    assert menu.grab().save(str(path))
    menu.hide()


def test_real_engine_creates_an_avatar_the_tracker_can_use(make_window, qtbot, clip, real_engine, shots, app_env,
                                                           monkeypatch):
    monkeypatch.setenv("HOME", str(app_env))  # the folder the pictures name: ~/.local/share/roomfit-avatar
    monkeypatch.setenv("ROOMFIT_DATA_DIR", str(app_env / ".local" / "share" / "roomfit-avatar"))
    w = make_window(f"video:{clip}")
    log = PacketLog(w.session)
    log.wait(qtbot, 3, lambda p: p.result.found, timeout=60)
    store, menu, ctl = w.avatar_store, w.avatar_menu, w.avatars_control
    assert store.shown_root == str(Path("~/.local/share/roomfit-avatar/avatars"))
    next(a for a in menu.actions() if a.objectName() == "create_avatar").trigger()
    d = ctl.dialog
    d.ready_s, d.prompt_seconds = 0.4, 1.0
    # the guided recording on the clip's frames (tracked by the window), pictured half-way
    d.buttons["start"].click()
    wait_for(qtbot, lambda: d.capturing == "smile" and d.preview.image is not None, 90, "the smile prompt")
    qtbot.wait(400)
    assert d.grab().save(str(shots / "enroll_dialog_prompts.png"))
    assert sum(d.prompts.state(n) in ("ok", "redo") for n in d.prompts.rows) >= 4
    d.buttons["cancel"].click()  # stop recording; the rendered clip is enrolled instead (the same frames, all of them)
    assert d.state == "review" and d.buttons["file"].isVisible()
    assert d.prompts.state("smile") in ("ok", "redo")  # the prompt cut short is checked on what it got
    seen, created = [], []
    d.runner.progress.connect(seen.append)
    d.avatar_created.connect(created.append)
    d.name.setText("Ada")
    d.enroll_clip(clip)
    assert d.state == "enrolling" and d.buttons["cancel"].isVisible() and not d.buttons["close"].isEnabled()
    assert "Creating your avatar \u201cAda\u201d" in d.prompt.text()
    wait_for(qtbot, lambda: d.state != "enrolling" or (seen and seen[-1].stage == "train" and seen[-1].done > 0.5),
             ENGINE_S, "training")
    if d.state == "enrolling":
        qtbot.wait(300)
        assert d.grab().save(str(shots / "enroll_dialog_progress.png"))
    wait_for(qtbot, lambda: d.state != "enrolling", ENGINE_S, "the real engine")
    assert d.state == "done", (d.error.text(), d.runner.stderr_tail(30))
    # the progress: every stage in order, monotone, to 100 %
    stages = list(dict.fromkeys(p.stage for p in seen))
    assert stages == ["landmarks", "fit", "unwrap", "lab", "train", "verify", "write"], stages
    assert [p.done for p in seen] == sorted(p.done for p in seen) and seen[-1].done == 1.0
    assert d.progress.bar.value() == 1000 and d.progress.stage.text() == "Done"
    # registered with the report's summary, the clip copied into the store
    a = store.find("Ada")
    assert created == [a.slug] and a.path == store.root / a.slug
    assert a.frames == 140 and a.summary["frames"] == 140 and a.summary["seconds"] > 0
    for k in ("psnr_face", "ssim_face", "identity_distance_median", "identity_distance_default_avatar",
              "nme51_vs_detector"):
        assert isinstance(a.summary[k], float), k
    assert a.clip_sha256 == sha256(clip) == sha256(store.clip_path(a.slug)) and clip.exists()
    work = a.path.with_name(a.slug + ".work")
    # a finished enrollment leaves no work folder behind (nothing to resume)
    assert not work.exists() and (a.path / "contact_sheet.png").exists() and store.unfinished() == []
    # the Avatar menu lists it; picking it swaps the live tracker to the enrolled bundle
    assert list(menu.picks) == ["", a.slug] and menu.picks[""].isChecked()
    assert "psnr_face" in menu.picks[a.slug].toolTip()
    base = w.session.pipeline.tracker
    menu.picks[a.slug].trigger()
    wait_for(qtbot, lambda: w.session.pipeline.tracker is not base, 120, "the avatar switch")
    tracker = w.session.pipeline.tracker
    assert tracker.bundle.manifest["provenance"]["person"] == "enrolled:Ada"
    assert tracker.bundle.cfg.topology == "head_v1" and ctl.current == a.slug
    assert w.settings.get("avatar/current") == a.slug and "Ada" in w.status.profile.text()
    menu.rebuild()
    assert menu.picks[a.slug].isChecked()
    grab_menu(qtbot, menu, shots / "avatar_menu.png")
    V = len(tracker.bundle.topology.vertices)  # tracking goes on, with the enrolled avatar's head
    log.wait(qtbot, 3, lambda p: p.result.found and p.result.G is not None and len(p.result.G) == V, timeout=60)
    d.buttons["close"].click()
    wait_for(qtbot, lambda: ctl.dialog is None, 10, "the dialog to close")
    # rename (the folder stays), delete (everything made for it)
    w.notifier.ask_text = lambda *args: "Ada Lovelace"
    ctl.rename(a.slug)
    assert store.find(a.slug).name == "Ada Lovelace" and store.find(a.slug).path == a.path
    assert "Lovelace" in menu.picks[a.slug].text()
    w.notifier.confirm = lambda *args: True
    ctl.delete(a.slug)
    assert not a.path.exists() and not work.exists() and not store.clip_path(a.slug).exists()
    assert sorted(p.name for p in store.root.iterdir()) == [] and clip.exists()
    wait_for(qtbot, lambda: w.session.pipeline.tracker is base, 30, "back to the default avatar")
    assert ctl.current == "" and list(menu.picks) == [""]


def test_real_engine_cancel_then_resume(qtbot, tmp_path, clip, real_engine):
    from app.gui.views.enroll_dialog import EnrollDialog

    store = AvatarStore(tmp_path / "avatars")
    d = EnrollDialog(store, None, device="cpu")
    qtbot.addWidget(d)
    d.show()
    seen = []
    d.runner.progress.connect(seen.append)
    d.name.setText("Bo")
    d.enroll_clip(clip)
    wait_for(qtbot, lambda: d.state != "enrolling" or any(p.stage in LATER for p in seen), ENGINE_S, "the lab stage")
    assert d.state == "enrolling", (d.error.text(), d.runner.stderr_tail(30))
    d.buttons["cancel"].click()
    assert d.state == "cancelling"
    wait_for(qtbot, lambda: d.state == "cancelled", 60, "the cancel")
    assert d.buttons["resume"].isVisible() and "Resume later" in d.info.text()
    assert [p.name for p in store.unfinished()] == ["Bo"] and store.list() == []
    work = store.root / "bo.work"
    assert {"clip.npz", "fit.npz", "person.npz"} <= {p.name for p in work.iterdir()}
    assert not (store.root / "bo").exists()
    n = len(seen)
    d.buttons["resume"].click()
    wait_for(qtbot, lambda: d.state not in ("enrolling", "cancelled"), ENGINE_S, "the resumed enrollment")
    assert d.state == "done", (d.error.text(), d.runner.stderr_tail(30))
    assert d.progress.bar.value() == 1000 and seen[-1].done == 1.0
    assert [p.done for p in seen[n:]] == sorted(p.done for p in seen[n:])
    a = store.find("Bo")
    assert a.frames == 140 and "psnr_face" in a.summary and store.unfinished() == []
    assert B.load(a.path).manifest["provenance"]["person"] == "enrolled:Bo"
