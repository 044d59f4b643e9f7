"""Create my avatar (offscreen): the guided recording on a fake frame feed, the live prompt check
with redo, the enrollment on a FAKE engine (progress, cancel -> resume, errors verbatim, the
result registered), and the Avatar picker in the window (switch, rename, delete, restore)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from PySide6.QtCore import QTimer

from app.pipeline.avatars import AvatarStore
from app.pipeline.enrollment_prompts import PROMPT_NAMES
from models.files import sha256

from .conftest import PacketLog, wait_for
from .fake_engine import calls, write_engine
from .test_avatars_store import fake_enroll
from .test_enrollment_prompts import brows_up, eyes, face3d, mouth_open, smile, view

POSE = {"turn_left": dict(yaw_deg=25), "turn_right": dict(yaw_deg=-25), "look_up": dict(pitch_deg=20),
        "look_down": dict(pitch_deg=-20)}
SHAPE = {"smile": lambda P, i: smile(P, 1.25), "open_mouth": lambda P, i: mouth_open(P, 0.45),
         "raise_brows": lambda P, i: brows_up(P, 0.08), "close_eyes": lambda P, i: eyes(P, 0.05),
         "blink": lambda P, i: eyes(P, 0.05 if i % 6 in (2, 3) else 1.0)}


class Performer:
    """Feeds the dialog packets every 15 ms: a face doing what the current prompt asks
    (``lazy`` prompts are done too weakly)."""

    def __init__(self, dialog, lazy=(), mirrored=False) -> None:
        self.d, self.lazy, self.i, self.t, self.mirrored = dialog, set(lazy), 0, 0.0, mirrored
        self.timer = QTimer()
        self.timer.timeout.connect(self.tick)
        self.timer.start(15)

    def tick(self) -> None:
        name = self.d.capturing or "look_straight"
        P = face3d()
        if name in SHAPE and name not in self.lazy:
            P = SHAPE[name](P, self.i)
        kw = {} if name in self.lazy else dict(POSE.get(name, {}))
        if self.mirrored and "yaw_deg" in kw:  # a selfie view shows a turn to the left as one to image left
            kw["yaw_deg"] = -kw["yaw_deg"]
        L = view(P, scale=50.0, centre=(160.0, 120.0), **kw)
        self.i, self.t = self.i + 1, self.t + 1 / 30
        img = np.full((240, 320, 3), 90, np.uint8)
        img[:, : 160] = 140
        res = SimpleNamespace(found=True, detected=L, landmarks=L)
        self.d.on_packet(SimpleNamespace(camera_rgb=img, result=res, t_capture=self.t))


def make_dialog(qtbot, tmp_path, tiny_bundle, mode="ok", store=None):
    from app.gui.views.enroll_dialog import EnrollDialog

    store = store or AvatarStore(tmp_path / "avatars")
    d = EnrollDialog(store, None, engine=write_engine(tmp_path / "engine", mode, tiny_bundle), device="cpu")
    d.ready_s, d.prompt_seconds = 0.05, 0.25
    qtbot.addWidget(d)
    d.show()
    return d, store


def record(qtbot, d, lazy=(), mirrored=False):
    perf = Performer(d, lazy, mirrored)
    d.buttons["start"].click()
    assert d.state == "recording"
    wait_for(qtbot, lambda: d.state == "review", 30, "the recording to end")
    return perf


def test_guided_recording_marks_each_prompt_and_redo_fixes_it(qtbot, tmp_path, tiny_bundle):
    d, store = make_dialog(qtbot, tmp_path, tiny_bundle)
    assert "stays on this machine" in d.ui.privacy.text()
    changes = []
    d.recording_changed.connect(changes.append)
    perf = record(qtbot, d, lazy=("turn_left", "smile"))
    assert changes == [True, False]
    assert d.preview.image is not None
    states = {n: d.prompts.state(n) for n in PROMPT_NAMES}
    assert states["turn_left"] == "redo" and states["smile"] == "redo", states
    assert all(s == "ok" for n, s in states.items() if n not in ("turn_left", "smile")), states
    assert "turn further left" in d.prompts.rows["turn_left"].text()
    assert d.buttons["redo"].isVisible() and d.buttons["create"].isVisible()
    frames_before = d.recording.frames("turn_right")
    perf.lazy.clear()
    d.buttons["redo"].click()  # nothing selected: every marked prompt
    assert d.queue == ["turn_left", "smile"]
    wait_for(qtbot, lambda: d.state == "review", 30, "the redo to end")
    assert all(d.prompts.state(n) == "ok" for n in PROMPT_NAMES)
    assert d.recording.frames("turn_right") == frames_before  # the other prompts were kept
    d.prompts.rows["blink"].setSelected(True)  # a selected prompt can be redone even when covered
    d.buttons["redo"].click()
    assert d.queue == ["blink"]
    wait_for(qtbot, lambda: d.state == "review", 30, "the blink redo")
    perf.timer.stop()


def test_a_mirrored_view_is_recorded_as_the_camera_sees_it(qtbot, tmp_path, tiny_bundle):
    import cv2

    d, store = make_dialog(qtbot, tmp_path, tiny_bundle)
    d.mirrored = lambda: True
    record(qtbot, d, mirrored=True).timer.stop()
    assert all(d.prompts.state(n) == "ok" for n in PROMPT_NAMES), d.prompts.states
    img = cv2.imdecode(np.frombuffer(d.recording.takes["smile"][0][1], np.uint8), cv2.IMREAD_COLOR)
    assert img[:, 160:].mean() > img[:, :160].mean() + 30  # the bright half of the shown frame is on the right


def test_enrollment_shows_progress_and_registers_the_avatar(qtbot, tmp_path, tiny_bundle):
    d, store = make_dialog(qtbot, tmp_path, tiny_bundle, "ok")
    perf = record(qtbot, d)
    perf.timer.stop()
    progress, created = [], []
    d.runner.progress.connect(progress.append)
    d.avatar_created.connect(created.append)
    d.name.setText("Ada")
    d.buttons["create"].click()
    assert d.state == "enrolling" and d.buttons["cancel"].isVisible()
    wait_for(qtbot, lambda: d.state == "done", 30, "the fake engine")
    assert [p.stage for p in progress] == ["landmarks", "fit", "unwrap", "train", "write"]
    assert d.progress.bar.value() == 1000 and d.progress.stage.text() == "Step 3"  # the engine's message
    assert "s left" in d.progress.eta.text()
    a = store.find("Ada")
    assert created == [a.slug] and a.frames == d.clip_frames > 0 and a.summary["psnr_face"] == 24.5
    assert store.clip_path(a.slug).exists() and len(a.clip_sha256) == 64
    seg = json.loads(store.segments_path(a.slug).read_text())
    assert list(seg["prompts"]) == list(PROMPT_NAMES)
    argv = calls(tmp_path / "engine")[-1]
    assert argv[argv.index("--out") + 1] == str(a.path) and "--progress-json" in argv and "--resume" not in argv
    assert argv[argv.index("--video") + 1] == str(store.clip_path(a.slug)) and "--name=Ada" in argv
    assert d.buttons["use"].isVisible() and "ready" in d.info.text()
    used = []
    d.use_requested.connect(used.append)
    d.buttons["use"].click()
    assert used == [a.slug]


def test_a_video_file_is_enrolled_from_a_copy(qtbot, tmp_path, tiny_bundle):
    import cv2

    video = tmp_path / "elsewhere.avi"
    wr = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 20.0, (64, 48))
    for k in range(12):
        wr.write(np.full((48, 64, 3), 20 * k, np.uint8))
    wr.release()
    d, store = make_dialog(qtbot, tmp_path, tiny_bundle, "ok")
    assert d.buttons["file"].isVisible()
    d.name.setText("-dash")  # not taken for an option
    d.enroll_clip(tmp_path / "missing.mp4")
    assert "cannot read the video" in d.error.text() and d.state == "intro" and d.slot is None
    assert list(store.root.iterdir()) == []  # nothing of the attempt stays
    d.enroll_clip(video)
    wait_for(qtbot, lambda: d.state == "done", 30, "the fake engine")
    a = store.find("-dash")
    assert a.frames == 12 and a.clip_sha256 == sha256(video) == sha256(store.clip_path(a.slug)) and video.exists()
    assert "--name=-dash" in calls(tmp_path / "engine")[-1] and not store.segments_path(a.slug).exists()
    store.delete(a.slug)
    assert video.exists() and not store.clip_path(a.slug).exists()


def test_progress_text_is_the_engine_message_with_the_step():
    from app.pipeline.enroll_job import EnrollJob, parse_line

    p = parse_line('{"stage": "train", "done": 0.5, "eta_s": 61, "message": "training your face model"}')
    assert p.text == "training your face model (step 5 of 7)"
    assert parse_line('{"stage": "lab", "done": 0.3}').text == "rendering your personal lab capture (step 4 of 7)"
    assert parse_line('{"stage": "write", "done": 1.0, "message": "done"}').text == "done"
    assert EnrollJob(Path("v.mp4"), Path("out"), "--x").argv(("e",))[5] == "--name=--x"


def test_cancel_then_resume(qtbot, tmp_path, tiny_bundle):
    d, store = make_dialog(qtbot, tmp_path, tiny_bundle, "slow")
    record(qtbot, d).timer.stop()
    d.name.setText("Slow one")
    d.buttons["create"].click()
    wait_for(qtbot, lambda: d.progress.bar.value() == 300, 30, "the engine's progress")
    assert "2 min" in d.progress.eta.text()
    d.buttons["cancel"].click()
    assert d.state == "cancelling"
    wait_for(qtbot, lambda: d.state == "cancelled", 30, "the cancel")
    assert "Resume later" in d.info.text() and d.buttons["resume"].isVisible()
    assert [p.name for p in store.unfinished()] == ["Slow one"] and store.list() == []
    # the dialog is closed; a new one offers the unfinished enrollment
    d.reject()
    d2, _ = make_dialog(qtbot, tmp_path, tiny_bundle, "slow", store)
    assert d2.pending.count() == 1 and d2.buttons["resume"].isVisible()
    d2.buttons["resume"].click()
    wait_for(qtbot, lambda: d2.state == "done", 30, "the resumed enrollment")
    assert "--resume" in calls(tmp_path / "engine")[-1]
    assert store.find("Slow one").frames == 12  # resumed from disk: the report's frame count
    assert store.unfinished() == []


def test_bad_input_error_is_shown_verbatim_and_other_avatars_untouched(qtbot, tmp_path, tiny_bundle):
    store = AvatarStore(tmp_path / "avatars")
    old = store.register(fake_enroll(store, "Old", tiny_bundle), "Old", "0")
    files = {p: p.read_bytes() for p in old.path.rglob("*") if p.is_file()}
    d, _ = make_dialog(qtbot, tmp_path, tiny_bundle, "bad", store)
    record(qtbot, d).timer.stop()
    d.buttons["create"].click()
    wait_for(qtbot, lambda: d.state == "failed", 30, "the engine's error")
    assert d.error.text() == "too little head rotation: turn further left and right (2 of 60 frames)"
    assert d.prompts.state("turn_left") == d.prompts.state("turn_right") == "redo"
    assert d.prompts.state("smile") == "ok" and d.buttons["redo"].isVisible()
    assert {p: p.read_bytes() for p in old.path.rglob("*") if p.is_file()} == files
    assert [a.name for a in store.list()] == ["Old"]
    d.runner.engine = tuple(write_engine(tmp_path / "engine", "crash", tiny_bundle))
    d.buttons["create"].click()
    wait_for(qtbot, lambda: d.state == "failed" and "crashed" in d.error.text(), 30, "the crash")
    assert "exit code 1" in d.error.text() and "ValueError: boom" in d.error.text()
    assert d.buttons["resume"].isVisible()


# ---------------------------------------------------------------------------------------------- window
def avatar_store(w) -> AvatarStore:
    return w.avatar_store


def test_picker_switches_renames_and_deletes(make_window, qtbot, tiny_bundle):
    w = make_window("synthetic:lab")
    store = avatar_store(w)
    a = store.register(fake_enroll(store, "Ada", tiny_bundle), "Ada", "0")
    log = PacketLog(w.session)
    log.wait(qtbot, 2)
    menu, ctl = w.avatar_menu, w.avatars_control
    menu.rebuild()
    assert list(menu.picks) == ["", a.slug] and menu.picks[""].isChecked()
    base = w.session.pipeline.tracker
    menu.picks[a.slug].trigger()
    wait_for(qtbot, lambda: w.session.pipeline.tracker is not base, 60, "the avatar switch")
    assert ctl.current == a.slug and w.settings.get("avatar/current") == a.slug
    log.wait(qtbot, 3, lambda p: p.result.found)  # tracking goes on with the new avatar
    assert w.session.calib.fingerprint == w.session.setup.fingerprint
    assert "Ada" in w.status.profile.text()
    menu.rebuild()
    assert menu.picks[a.slug].isChecked() and not menu.picks[""].isChecked()
    w.notifier.ask_text = lambda *args: "Ada Lovelace"
    ctl.rename(a.slug)
    assert store.find(a.slug).name == "Ada Lovelace" and "Lovelace" in menu.picks[a.slug].text()
    w.notifier.confirm = lambda *args: False
    ctl.delete(a.slug)
    assert a.path.exists()
    w.notifier.confirm = lambda *args: True
    ctl.delete(a.slug)
    assert not a.path.exists() and not store.clip_path(a.slug).exists()
    wait_for(qtbot, lambda: w.session.pipeline.tracker is base, 30, "back to the default avatar")
    assert ctl.current == "" and w.settings.get("avatar/current") == ""
    assert list(menu.picks) == [""]


def test_remembered_avatar_is_restored_or_falls_back(make_window, qtbot, tiny_bundle, app_env):
    from app.gui.settings import Settings

    store = AvatarStore()  # the user data folder of app_env
    a = store.register(fake_enroll(store, "Bea", tiny_bundle), "Bea", "0")
    s = Settings()
    s.set("avatar/current", a.slug)
    s.sync()
    w = make_window("synthetic:lab")
    wait_for(qtbot, lambda: w.avatars_control.current == a.slug, 60, "the restored avatar")
    w.close()
    store.delete(a.slug)
    w2 = make_window("synthetic:lab")
    assert w2.avatars_control.current == "" and w2.settings.get("avatar/current") == ""
    assert any("no longer available" in m for m in w2.status.warnings)


def test_create_from_the_window_menu(make_window, qtbot, tmp_path, tiny_bundle):
    w = make_window("synthetic:lab")
    w.controls.mirror.setChecked(True)
    w.avatars_control.engine = write_engine(tmp_path / "engine", "ok", tiny_bundle)
    w.avatar_menu.rebuild()
    next(a for a in w.avatar_menu.actions() if a.objectName() == "create_avatar").trigger()
    d = w.avatars_control.dialog
    d.ready_s, d.prompt_seconds = 0.15, 0.2
    assert d.mirrored() is True
    wait_for(qtbot, lambda: d.preview.image is not None, 30, "live frames in the dialog")
    assert w.session.pipeline.options.landmarks  # overlays as the user set them
    d.buttons["start"].click()
    wait_for(qtbot, lambda: not w.session.pipeline.options.landmarks and not w.session.pipeline.options.box, 5)
    wait_for(qtbot, lambda: d.state == "review", 60, "the recording")
    assert w.session.pipeline.options.landmarks  # restored
    assert d.recording.frames() > 0
    d.buttons["create"].click()
    wait_for(qtbot, lambda: d.state == "done", 30, "the fake engine")
    slug = d.created
    assert slug in w.avatar_menu.picks
    d.buttons["use"].click()
    wait_for(qtbot, lambda: w.avatars_control.current == slug, 60, "the switch to the new avatar")
    assert w.avatars_control.dialog is None
