"""The control panel: source, camera format, device, smoothing, mirror, overlays, avatar mode."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from ...pipeline.packets import ViewOptions

RESOLUTIONS = ((320, 240), (640, 480), (960, 540), (1280, 720))
OVERLAYS = (("landmarks", "68 landmarks (model)"), ("detected", "detector points"), ("wireframe", "mesh wireframe"),
            ("salient", "salient points (moles)"), ("box", "face box"))
VIDEO_ITEM = "video:"


class Controls(QWidget):
    """Emits what the user asks for; the main window applies it."""

    source_requested = Signal(str)  # "webcam:N" | "synthetic:ROOM" | "video:" (= ask for a file)
    format_changed = Signal(int, int, float)  # width, height, fps
    device_changed = Signal(str)
    smoothing_changed = Signal(float)
    guide_changed = Signal(bool)
    layer_changed = Signal(bool)
    expressions_changed = Signal(str)  # "landmarks" | "fit"
    mirror_changed = Signal(bool)
    loop_changed = Signal(bool)
    options_changed = Signal()

    def __init__(self, cameras: list[int], rooms: tuple[str, ...], cuda: bool) -> None:
        super().__init__()
        self.source = QComboBox()
        self.source.setObjectName("source")
        for i in cameras:
            self.source.addItem(f"Webcam {i}", f"webcam:{i}")
        if not cameras:
            self.source.addItem("(no camera found)", "")
            self.source.model().item(0).setEnabled(False)  # type: ignore[attr-defined]
        self.source.addItem("Video file ...", VIDEO_ITEM)
        for r in rooms:
            self.source.addItem(f"Synthetic actor: {r}", f"synthetic:{r}")
        self.source.activated.connect(lambda i: self.source_requested.emit(self.source.itemData(i)))
        self.resolution = QComboBox()
        for w, h in RESOLUTIONS:
            self.resolution.addItem(f"{w} x {h}", f"{w}x{h}")
        self.fps = QComboBox()
        for f in (15, 24, 30, 60):
            self.fps.addItem(f"{f} FPS", float(f))
        for c in (self.resolution, self.fps):
            c.activated.connect(self._format)
        self.device = QComboBox()
        for d in ("auto", "cpu", "cuda"):
            self.device.addItem(d, d)
        if not cuda:
            self.device.model().item(2).setEnabled(False)  # type: ignore[attr-defined]
            self.device.setItemData(2, "no CUDA on this machine", Qt.ItemDataRole.ToolTipRole)
        self.device.activated.connect(lambda i: self.device_changed.emit(self.device.itemData(i)))
        self.smoothing = QSlider(Qt.Orientation.Horizontal)
        self.smoothing.setRange(0, 95)
        self.smoothing.valueChanged.connect(lambda v: self.smoothing_changed.emit(v / 100.0))
        self.guide = QCheckBox("eyes, brows and smile follow the detector")
        self.guide.setToolTip("Blinks, brow raises, smiles and puckers of the face's 68 points steer the avatar's "
                              "expression code (docs/expression_guide.md). Off: the encoder alone reads them.")
        self.guide.toggled.connect(self.guide_changed)
        self.layer = QCheckBox("match eyes and mouth")
        self.layer.setToolTip("Opens the avatar's eyes and lips as far as the detector sees yours, per eye "
                              "(blinks, winks, wide eyes, the jaw), on its mesh (docs/expression_layer.md).")
        self.layer.toggled.connect(self.layer_changed)
        self.expressions = QComboBox()
        self.expressions.setObjectName("expressions")
        self.expressions.addItem("detector rule (17 ARKit names)", "landmarks")
        self.expressions.addItem("fitted shapes (34 ARKit names)", "fit")
        self.expressions.setToolTip("Where the expression bars and the outputs' blendshapes come from. The rule "
                                    "follows real blinks, jaw and brows best; the fit adds puffs, funnels, lip rolls "
                                    "and jaw slides but reads a big grin as a cheek puff too (docs/expression_fit.md). "
                                    "The avatar itself is the same either way.")
        self.expressions.activated.connect(lambda i: self.expressions_changed.emit(self.expressions.itemData(i)))
        self.mirror = QCheckBox("mirror (selfie view)")
        self.mirror.toggled.connect(self.mirror_changed)
        self.loop = QCheckBox("loop videos (else stop at the end)")
        self.loop.toggled.connect(self.loop_changed)
        src = QGroupBox("Input")
        f = QFormLayout(src)
        f.addRow("source", self.source)
        f.addRow("camera size", self.resolution)
        f.addRow("camera rate", self.fps)
        f.addRow("device", self.device)
        f.addRow("smoothing", self.smoothing)
        f.addRow(self.guide)
        f.addRow(self.layer)
        f.addRow("expressions", self.expressions)
        f.addRow(self.mirror)
        f.addRow(self.loop)
        ov = QGroupBox("Camera overlays")
        v = QVBoxLayout(ov)
        self.overlay: dict[str, QCheckBox] = {}
        for key, label in OVERLAYS:
            cb = QCheckBox(label)
            cb.setObjectName(f"overlay_{key}")
            cb.toggled.connect(self.options_changed)
            self.overlay[key] = cb
            v.addWidget(cb)
        av = QGroupBox("Avatar")
        fa = QFormLayout(av)
        self.avatar_mode = QComboBox()
        self.avatar_mode.addItem("posed as in camera", "posed")
        self.avatar_mode.addItem("frontal", "frontal")
        self.avatar_mode.activated.connect(lambda _: self.options_changed.emit())
        self.avatar_wire = QCheckBox("wireframe")
        self.avatar_wire.toggled.connect(self.options_changed)
        fa.addRow("view", self.avatar_mode)
        fa.addRow(self.avatar_wire)
        lay = QVBoxLayout(self)
        for w in (src, ov, av):
            lay.addWidget(w)
        lay.addStretch(1)

    def _format(self, _index: int = 0) -> None:
        w, h = (int(v) for v in self.resolution.currentData().split("x"))
        self.format_changed.emit(w, h, self.fps.currentData())

    def select(self, combo: QComboBox, data) -> None:
        """Show ``data`` as the current item without emitting the user signal."""
        i = combo.findData(data)
        if i >= 0:
            combo.setCurrentIndex(i)

    def view_options(self, base: ViewOptions) -> ViewOptions:
        """The overlay/avatar switches applied to ``base`` (keeps the orbit)."""
        from dataclasses import replace

        return replace(base, **{k: cb.isChecked() for k, cb in self.overlay.items()},
                       avatar_mode=self.avatar_mode.currentData(), avatar_wireframe=self.avatar_wire.isChecked())
