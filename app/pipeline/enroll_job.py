"""Talking to the enrollment engine (``python -m studio enroll ... --progress-json``), without Qt.

The engine prints one JSON object per line on stdout: progress lines ``{"stage", "done" (0-1,
overall), "eta_s", "message"}``, then one result line ``{"result": "ok", "bundle", "report"}`` |
``{"result": "error", "message", "redo": [prompt names]}`` | ``{"result": "cancelled"}``. Exit codes:
0 ok, 2 bad input, 3 cancelled (SIGTERM/SIGINT; ``--resume`` continues from the kept stages),
anything else a crash. :func:`outcome` turns the last result line, the exit code and the tail of
stderr into an :class:`EnrollOutcome`; the window shows its ``message`` verbatim.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ENGINE: tuple[str, ...] = (sys.executable, "-m", "studio", "enroll")  # tests replace it with a fake engine
STAGE_TEXT = {"landmarks": "finding your face in every frame", "fit": "fitting your head shape",
              "unwrap": "unwrapping your skin texture", "lab": "rendering your personal lab capture",
              "train": "training your personal avatar", "verify": "checking it on held-back frames",
              "write": "writing the avatar"}
EXIT_OK, EXIT_BAD_INPUT, EXIT_CANCELLED = 0, 2, 3


@dataclass(frozen=True)
class EnrollJob:
    video: Path
    out: Path
    name: str = ""
    resume: bool = False
    device: str = "auto"
    budget_minutes: float | None = None

    def argv(self, engine: tuple[str, ...] | list[str] = ENGINE) -> list[str]:
        args = [*engine, "--video", str(self.video), "--out", str(self.out)]
        if self.name:  # one word: a name that starts with "-" is not taken for an option
            args.append(f"--name={self.name}")
        if self.budget_minutes is not None:
            args += ["--budget-minutes", f"{self.budget_minutes:g}"]
        if self.resume:
            args.append("--resume")
        return [*args, "--device", self.device, "--progress-json"]


@dataclass(frozen=True)
class EnrollProgress:
    stage: str
    done: float  # 0-1 overall
    eta_s: float | None
    message: str = ""

    @property
    def text(self) -> str:
        """What the window shows: the engine's message (it describes the stage: "training your face
        model"), else the stage's own words, with the step ("... (step 5 of 7)") until the end."""
        what = self.message or STAGE_TEXT.get(self.stage, self.stage)
        if self.stage in STAGE_TEXT and self.done < 1.0:
            what += f" (step {list(STAGE_TEXT).index(self.stage) + 1} of {len(STAGE_TEXT)})"
        return what


@dataclass(frozen=True)
class EnrollOutcome:
    kind: str  # ok | error | cancelled | crashed
    message: str = ""
    redo: tuple[str, ...] = ()
    bundle: Path | None = None
    report: Path | None = None
    exit_code: int | None = None
    extra: dict = field(default_factory=dict)


def parse_line(line: str) -> EnrollProgress | dict | None:
    """One stdout line -> progress, a result dict, or None (not JSON: a stray print)."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    if "result" in obj:
        return obj
    if "stage" in obj:
        try:
            done = min(max(float(obj.get("done") or 0.0), 0.0), 1.0)
        except (TypeError, ValueError):
            done = 0.0
        eta = obj.get("eta_s")
        return EnrollProgress(str(obj["stage"]), done, float(eta) if isinstance(eta, (int, float)) else None,
                              str(obj.get("message") or ""))
    return None


def eta_text(eta_s: float | None) -> str:
    if eta_s is None or eta_s != eta_s or eta_s < 0:
        return "time left: estimating ..."
    m, s = divmod(int(round(eta_s)), 60)
    return f"about {m} min {s:02d} s left" if m else f"about {s} s left"


def outcome(result: dict | None, exit_code: int | None, stderr_tail: str = "", asked_to_stop: bool = False,
            crashed_to_start: str = "") -> EnrollOutcome:
    """What happened, from the engine's last result line and its exit code."""
    if crashed_to_start:
        return EnrollOutcome("crashed", f"the enrollment engine did not start: {crashed_to_start}", exit_code=exit_code)
    kind = (result or {}).get("result")
    if exit_code == EXIT_OK and kind == "ok":
        bundle, report = result.get("bundle"), result.get("report")  # type: ignore[union-attr]
        return EnrollOutcome("ok", "", bundle=Path(bundle) if bundle else None, report=Path(report) if report else None,
                             exit_code=exit_code, extra=dict(result))  # type: ignore[arg-type]
    if kind == "cancelled" or exit_code == EXIT_CANCELLED or (asked_to_stop and kind != "error"):
        return EnrollOutcome("cancelled", "cancelled - finished stages are kept; Resume later", exit_code=exit_code)
    if kind == "error" or exit_code == EXIT_BAD_INPUT:
        msg = str((result or {}).get("message") or stderr_tail.strip() or "the enrollment engine rejected the clip")
        redo = tuple(str(r) for r in ((result or {}).get("redo") or ()))
        return EnrollOutcome("error", msg, redo=redo, exit_code=exit_code)
    tail = stderr_tail.strip()
    why = f"the enrollment engine crashed (exit code {exit_code})" if exit_code not in (None, EXIT_OK) else \
        "the enrollment engine ended without a result"
    return EnrollOutcome("crashed", why + (f":\n{tail}" if tail else ""), exit_code=exit_code)
