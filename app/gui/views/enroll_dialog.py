"""Create my avatar: a guided recording with a live check of every prompt (or a video file,
:meth:`EnrollDialog.enroll_clip`), then the enrollment engine in the background (progress, time
left, Cancel, Resume), the result registered as a personal avatar.

The dialog only listens: :meth:`EnrollDialog.on_packet` gets the window's tracked packets (the
camera frame and the detector's 68 points). While frames are recorded it says so with
``recording_changed`` (the window then draws no overlays into the frames). Frames and points are
stored un-mirrored (the real camera image), so the avatar is the person, not their mirror image.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox, QVBoxLayout, QWidget

from models.files import sha256

from ...pipeline.avatars import AvatarError, AvatarStore, PendingEnrollment
from ...pipeline.enroll_job import EnrollJob, EnrollOutcome
from ...pipeline.enroll_recording import GuidedRecording, RecordingError, import_clip
from ...pipeline.enrollment_prompts import PROMPT_BY_NAME, PROMPT_NAMES, PromptCoverage
from ..workers.enroll import EnrollRunner
from .enroll_widgets import EnrollPanel

PRIVACY = ("Everything stays on this machine: the recording, the points found on your face and your avatar "
           "are kept in {root} and never sent anywhere. Delete removes all of it.")
READY_S = 1.5  # "get ready" before each prompt (not recorded)
VIDEOS = "Videos (*.mp4 *.mov *.avi *.mkv *.webm *.m4v);;All files (*)"


class EnrollDialog(QDialog):
    avatar_created = Signal(str)  # slug of the registered avatar
    use_requested = Signal(str)  # slug: switch the live tracker to it
    recording_changed = Signal(bool)  # frames are being recorded (draw no overlays)

    def __init__(self, store: AvatarStore, parent: QWidget | None = None, engine=None, device: str = "auto",
                 mirrored: Callable[[], bool] = lambda: False) -> None:
        super().__init__(parent)
        self.setWindowTitle("Create my avatar")
        self.store, self.device, self.mirrored = store, device, mirrored
        self.runner = EnrollRunner(engine, self)
        self.runner.progress.connect(lambda p: self.progress.show_progress(p))
        self.runner.finished.connect(self._on_finished)
        self.confirm = lambda title, text: QMessageBox.question(self, title, text) == QMessageBox.StandardButton.Yes
        self.ready_s, self.prompt_seconds = READY_S, None  # None: each prompt's own seconds (tests shorten both)
        self.recording, self.coverage = GuidedRecording(), PromptCoverage()
        self.state, self.queue, self.capturing, self.t0 = "intro", [], None, 0.0
        self.slot, self.job, self.clip_sha, self.clip_frames, self.engine_redo = None, None, "", None, set()
        self.outcome_kind, self.created = "", ""  # how the last enrollment ended; the slug it registered
        self._build()
        self.timer = QTimer(self)
        self.timer.setInterval(50)
        self.timer.timeout.connect(self._tick)
        self._show()

    def _build(self) -> None:
        ui = EnrollPanel(PRIVACY.format(root=self.store.shown_root), self.store.unique_name("My avatar"),
                         [(f"{p.name} ({p.created})", p.slug) for p in self.store.unfinished()])
        self.ui = ui
        self.preview, self.prompt, self.prompts, self.name = ui.preview, ui.prompt, ui.prompts, ui.name
        self.info, self.error, self.progress, self.pending, self.buttons = ui.info, ui.error, ui.progress, \
            ui.pending, ui.buttons
        for key, slot in (("start", self.start_recording), ("file", self._pick_clip), ("redo", self.redo),
                          ("create", self.create), ("cancel", self.cancel), ("resume", self.resume), ("use", self._use),
                          ("close", self.reject)):
            ui.buttons[key].clicked.connect(lambda _=False, f=slot: f())
        lay = QVBoxLayout(self)
        lay.addWidget(ui)
        self.resize(980, 560)

    def _show(self) -> None:
        s, b, rec = self.state, self.buttons, self.recording.frames() > 0
        idle = s in ("intro", "review", "failed", "cancelled", "done")
        b["start"].setVisible(s in ("intro", "failed") and (s == "intro" or not rec))
        b["start"].setText("Record again" if s == "failed" else "Start recording")
        b["file"].setVisible(s in ("intro", "review", "failed"))
        b["redo"].setVisible(s in ("review", "failed") and rec)
        b["create"].setVisible(s in ("review", "failed") and rec)
        b["cancel"].setVisible(s in ("recording", "enrolling"))
        b["resume"].setVisible((s == "intro" and self.pending.count() > 0) or s == "cancelled" or
                               (s == "failed" and self.job is not None and self.outcome_kind == "crashed"))
        b["use"].setVisible(s == "done")
        b["close"].setEnabled(idle)
        self.pending.setVisible(s == "intro" and self.pending.count() > 0)
        self.progress.setVisible(s in ("enrolling", "cancelling", "cancelled") or
                                 (s == "failed" and self.job is not None))
        self.name.setEnabled(idle and s != "done")

    # ------------------------------------------------------------------ frames
    def on_packet(self, pkt) -> None:
        frame = pkt.camera_rgb
        self.preview.set_image(frame)
        if self.capturing is None:
            return
        res = pkt.result
        L = res.detected if res.detected is not None else res.landmarks
        L = L if res.found and L is not None else None
        if self.mirrored():
            frame = frame[:, ::-1]
            if L is not None:
                L = L.copy()
                L[:, 0] = frame.shape[1] - 1 - L[:, 0]
        self.recording.add(self.capturing, frame, pkt.t_capture)
        self.coverage.add(self.capturing, L)

    # ------------------------------------------------------------------ recording
    def start_recording(self) -> None:
        self.recording, self.coverage, self.engine_redo = GuidedRecording(), PromptCoverage(), set()
        self.job = None
        for n in PROMPT_NAMES:
            self.prompts.set_state(n, "pending")
        self._record(list(PROMPT_NAMES))

    def _record(self, names: list[str]) -> None:
        for n in names:
            self.coverage.reset(n)
            self.recording.clear(n)
            self.engine_redo.discard(n)
        self.queue, self.t0, self.state = names, time.monotonic(), "recording"
        self.error.setText("")
        self.recording_changed.emit(True)
        self.timer.start()
        self._show()

    def redo(self) -> None:
        """Record the selected prompts again, or else every marked one."""
        names = self.prompts.selected_names() or self.prompts.marked()
        if names:
            self._record([n for n in PROMPT_NAMES if n in names])

    def _tick(self) -> None:
        if self.state != "recording" or not self.queue:
            return
        name = self.queue[0]
        seconds = self.prompt_seconds or PROMPT_BY_NAME[name].seconds
        el = time.monotonic() - self.t0
        text = PROMPT_BY_NAME[name].text
        if el < self.ready_s:
            self.capturing = None
            self.prompt.setText(f"Next: {text}  ({self.ready_s - el:.0f} ...)")
            self.preview.captions = [(f"get ready: {text}", QColor(255, 200, 60))]
        elif el < self.ready_s + seconds:
            self.capturing = name
            self.prompts.set_state(name, "recording")
            left = self.ready_s + seconds - el
            self.prompt.setText(f"{text}  -  {left:.1f} s")
            self.preview.captions = [(f"\u25cf {text}  {left:.0f}", QColor(255, 80, 80))]
        else:
            self.capturing = None
            self.queue.pop(0)
            self.t0 = time.monotonic()
            self._marks()
            if not self.queue:
                self._recording_done()

    def _marks(self) -> None:
        for n in PROMPT_NAMES:
            if self.recording.frames(n) == 0 and self.prompts.state(n) != "recording":
                continue
            c = self.coverage.check(n)
            engine = n in self.engine_redo
            self.prompts.set_state(n, "ok" if c.covered and not engine else "redo",
                                   "the enrollment asks for it" if engine and c.covered else c.reason, engine)

    def _recording_done(self) -> None:
        self.timer.stop()
        self._marks()  # a prompt cut short by Cancel is checked on what it got
        self.state, self.preview.captions = "review", []
        self.recording_changed.emit(False)
        missing = self.prompts.marked()
        self.prompt.setText("Done. " + ("Every prompt was covered." if not missing else
                                        f"{len(missing)} prompt(s) marked: select and redo them, or create anyway."))
        self._show()

    # ------------------------------------------------------------------ enrollment
    def create(self) -> None:
        """Enroll the guided recording (written as the new avatar's clip)."""
        st = self.store
        self._new_enrollment(lambda slot: self.recording.write(st.clip_path(slot), st.clip_part_path(slot),
                                                               st.segments_path(slot)))

    def enroll_clip(self, video: str | Path) -> None:
        """Enroll a video recorded elsewhere instead (*Enroll a video file ...*): copied into the store
        like a recording, so that Delete removes the copy and never the original."""
        def copy(slot: Path) -> dict:
            self.store.segments_path(slot).unlink(missing_ok=True)  # no prompts in it
            return import_clip(video, self.store.clip_path(slot), self.store.clip_part_path(slot))

        self._new_enrollment(copy)

    def _pick_clip(self) -> None:
        if path := QFileDialog.getOpenFileName(self, "Enroll a video file", "", VIDEOS)[0]:
            self.enroll_clip(path)

    def _new_enrollment(self, write_clip: Callable[[Path], dict]) -> None:
        fresh = self.slot is None
        try:
            name = self.store.check_name(self.name.text(), self.store.job_name(self.slot) if self.slot else "")
            self.slot = self.slot or self.store.new_slot(name)
            info = write_clip(self.slot)
        except (AvatarError, RecordingError, OSError) as e:
            if self.slot is not None and fresh:  # nothing of this attempt stays behind
                self.store.delete(self.slot.name)
                self.slot = None
            self.error.setText(str(e))
            return
        self.clip_sha, self.clip_frames = info["sha256"], info["frames"] or None  # None: the report's count
        self._run(EnrollJob(self.store.clip_path(self.slot), self.slot, name, device=self.device))

    def resume(self) -> None:
        if self.state == "intro":
            slug = self.pending.currentData()
            p: PendingEnrollment | None = next((x for x in self.store.unfinished() if x.slug == slug), None)
            if p is None or not p.clip.exists():
                self.error.setText("the recording of this enrollment is gone; delete it (Avatar menu) and record again")
                return
            self.slot, self.clip_sha, self.clip_frames = p.slot, sha256(p.clip), None
            self.name.setText(p.name)
            self.job = EnrollJob(p.clip, p.slot, p.name, device=self.device)
        if self.job is not None:
            self._run(replace(self.job, resume=True, name=self.name.text().strip() or self.job.name))

    def _run(self, job: EnrollJob) -> None:
        self.job, self.state = job, "enrolling"
        self.error.setText("")
        self.info.setText("Enrolling in the background; you can keep using the tracker.")
        self.prompt.setText(f"Creating your avatar \u201c{job.name}\u201d ...")
        self.progress.reset()
        self._show()
        self.runner.start(job)

    def cancel(self) -> None:
        if self.state == "recording":
            self.timer.stop()
            self.queue, self.capturing = [], None
            self._recording_done()
        elif self.state == "enrolling":
            self.state = "cancelling"
            self.info.setText("stopping the enrollment ...")
            self.runner.cancel()
            self._show()

    def _on_finished(self, out: EnrollOutcome) -> None:
        self.outcome_kind = out.kind
        if out.kind == "ok":
            try:
                a = self.store.register(self.job.out, self.job.name, self.clip_sha, frames=self.clip_frames)
            except (AvatarError, OSError) as e:
                out = EnrollOutcome("error", f"the avatar could not be registered: {e}")
            else:
                self.state, self.created = "done", a.slug
                notes = [w.get("message", "") for w in out.extra.get("warnings", []) if isinstance(w, dict)]
                self.info.setText(f"Your avatar \u201c{a.name}\u201d is ready (Avatar menu)."
                                  + "".join(f"\nNote: {n}" for n in notes if n))
                self.prompt.setText("Done.")
                self.avatar_created.emit(a.slug)
                self._show()
                return
        if out.kind == "cancelled":
            self.state = "cancelled"
            self.info.setText("cancelled - Resume later (finished stages are kept)")
        else:
            self.state = "failed"
            self.error.setText(out.message)
            self.info.setText("Your other avatars are untouched." + (" Redo the highlighted prompts, then create again."
                                                                      if out.redo else ""))
            self.engine_redo = {r for r in out.redo if r in PROMPT_NAMES}
            self._marks()
            for n in self.engine_redo:
                if self.prompts.state(n) != "redo":
                    self.prompts.set_state(n, "redo", "the enrollment asks for it", engine=True)
        self._show()

    def _use(self) -> None:
        self.use_requested.emit(self.created)
        self.accept()

    def reject(self) -> None:
        if self.runner.running:
            if not self.confirm("Stop the enrollment?", "Stop creating the avatar? Finished stages are kept; "
                                "you can resume it later from the Avatar menu."):
                return
            self.runner.stop_now()
        self.shutdown()
        super().reject()

    def shutdown(self) -> None:
        """Stop recording and the engine (window closing)."""
        if self.state == "recording":
            self.timer.stop()
            self.capturing = None
            self.recording_changed.emit(False)
            self.state = "review"
        self.runner.stop_now()
