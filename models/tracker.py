"""Tracker facade: BGR frame -> :class:`FrameResult` (paper Fig. 5, the testing phase).

frame -> face (landmark detector in tracking mode; re-detects on loss) -> smoothed crop box
-> crop I (S x S) -> E_I(I) = (z, H) -> keypoint guidance of z (beyond the paper: the detector's
blinks and brows along the avatar's expression directions, :mod:`models.code_guide`) -> output
filter (beyond the paper: a 1-euro filter on z and a Kalman filter on the frame-pixel pose,
:mod:`models.filters`) -> D(z, view(H)) = (G, T) -> C(T).

``load_adapted`` swaps the encoder and colour weights atomically between two frames; the
GUI's calibration builds them on another thread and hands them over.
"""

from __future__ import annotations

import copy
import logging
import threading
import time

import numpy as np
import torch

from . import crop as C
from .bundle import AvatarBundle
from .camera import crop_to_frame, frame_to_crop, project, view_direction
from .code_guide import DEFAULT_GUIDE, CodeGuide, parse_guide
from .expression_layer import ExpressionLayer, avatar_neutral
from .fast_infer import FastInfer
from .filters import OutputFilter, SmoothingConfig
from .frame_result import FrameResult, Prepared  # noqa: F401  (FrameResult: imported from here)
from .gaze import LOOK_NAMES, EyeWarp, IrisGaze, arkit_look
from .landmark_expressions import LandmarkExpressions
from .landmark_fit import LandmarkFit, has_arkit
from .landmark_identity import LandmarkIdentity
from .topology import canonical_landmarks_2d
from .tracker_texture import TrackerTexture

log = logging.getLogger(__name__)
EXPRESSION_SOURCES = ("landmarks", "fit", "head")


def _check_source(source: str) -> None:
    if source not in EXPRESSION_SOURCES:
        raise ValueError(f"expression_source must be one of {', '.join(EXPRESSION_SOURCES)}, got {source!r}")


def pick_device(device: str = "auto") -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without CUDA raises a clear error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for but CUDA is not available; use --device cpu or auto")
    return torch.device(device)


def to_tensor_image(crop_bgr: np.ndarray, device: torch.device) -> torch.Tensor:
    """(S, S, 3) uint8 BGR -> (1, 3, S, S) float RGB in [0, 1]."""
    rgb = np.ascontiguousarray(crop_bgr[..., ::-1])
    return torch.from_numpy(rgb).to(device).permute(2, 0, 1)[None].float().div_(255.0)


class Tracker(TrackerTexture):
    """Track one face per frame with an avatar bundle.

    ``detector`` is a :class:`models.landmark_tracking.TrackingLandmarks` (default: dlib in tracking
    mode) or anything with ``update(frame) -> Face | None`` and ``n_faces_last_detection``.
    ``smoothing`` in [0, 0.95] sets both the crop-box smoothing and the strength of the output
    filter (0 = the raw per-frame answer of the networks).
    ``infer_backend`` picks the per-frame inference path (:mod:`models.fast_infer`): ``torch``,
    ``onnx``, ``script`` or ``auto``; None reads ``ROOMFIT_INFER`` (default ``auto``: ONNX Runtime
    for the encoder on the CPU when it is installed, else torch).
    """

    def __init__(self, bundle: AvatarBundle, device: str | torch.device = "auto", detector=None,
                 smoothing: float = 0.5, texture_every: int = 1, infer_backend: str | None = None,
                 expression_source: str = "landmarks", guide: str | tuple[str, ...] | None = DEFAULT_GUIDE,
                 guide_gain: float = 1.0, gaze: bool = True, landmark_identity: bool = True,
                 expression_layer: bool = True, texture_async: bool = False, eye_match: bool = True,
                 mouth_match: bool = True) -> None:
        """``expression_source``: where the named weights (FrameResult.expressions) come from -
        ``landmarks`` (the detector's points with a per-person running calibration,
        :mod:`models.landmark_expressions`; the default: on the shared real clips it follows dlib's
        eye opening at r 0.89 where today's crowd-trained head reaches 0.72 with a compressed
        range, docs/crowd_encoder.md), ``fit`` (all 34 ARKit shapes of the template fitted to the
        points, :mod:`models.landmark_fit`; on a topology without them, the landmark rule) or ``head``
        (the I2ZNet's expression head, when the bundle has one; else the landmark rule).
        ``guide`` / ``guide_gain``: which expression channels of z follow the detector's named weights
        (:mod:`models.code_guide`; ``"eyes,brows,smile,pucker"`` by default, ``"none"`` off, ``"all"``
        adds the jaw); a bundle without ``guide_codes`` in its manifest is not guided.
        ``gaze``: estimate each eye's gaze from the iris (:mod:`models.gaze`, FrameResult.gaze) and move
        the avatar's irises with it in the texture.
        ``landmark_identity``: move the reported landmarks onto the user's features with a per-person
        corrective (:mod:`models.landmark_identity`); ``FrameResult.model_landmarks`` keeps the
        avatar's own projection.
        ``expression_layer``: add winks and wide eyes the DAM cannot decode to the
        decoded geometry (:mod:`models.expression_layer`; only on the template head's topology).
        ``eye_match``: with the layer on, the avatar's lids open as far as the user's, per eye, solved on
        the decoded geometry (:mod:`models.eye_match`); off: the layer's winks and wide eyes only.
        ``mouth_match``: with the layer on, the avatar's lips part as far as the user's (:mod:`models.mouth_match`).
        ``texture_async``: decode the texture on a worker thread (:mod:`models.texture_worker`) and
        only the geometry in :meth:`track`; FrameResult.texture is then the newest texture finished
        (at most one decode behind), so the outputs depend on thread timing. Off: deterministic."""
        _check_source(expression_source)
        self.expression_source = expression_source
        self.device = pick_device(device) if isinstance(device, str) else device
        self.bundle = bundle.to(self.device)
        self.cfg = bundle.cfg
        for m in (bundle.dam, bundle.i2znet, bundle.color):
            m.eval()
        if detector is None:
            from .landmark_tracking import TrackingLandmarks
            from .landmarks import make_detector

            detector = TrackingLandmarks(make_detector("dlib"))
        self.detector = detector
        self.smoother = C.BoxSmoother(smoothing)
        self.output_filter = OutputFilter(SmoothingConfig(strength=smoothing))
        self.expressions = LandmarkExpressions()  # per-person running calibration (reset with the track)
        self.fit: LandmarkFit | None = None
        self.expression_names = tuple(bundle.manifest.get("expression_names", ()))
        self.gaze = IrisGaze() if gaze else None
        self.identity = LandmarkIdentity() if landmark_identity else None
        self.layer: ExpressionLayer | None = None
        self.eye_match, self.mouth_match = bool(eye_match), bool(mouth_match)
        self._neutral: np.ndarray | None = None  # (V, 3) D(z*(0)), for eye and mouth matching
        self.set_expression_layer(expression_layer)
        self._eye_warp: EyeWarp | None | bool = None  # built on the first texture; False: not possible
        self._looked: tuple | None = None  # (texture, gaze step, warped texture) of the last frame
        self.guide: CodeGuide | None = None
        self.set_guide(guide, guide_gain)
        self.landmark_ids = torch.from_numpy(bundle.topology.landmark_ids).to(self.device)
        self._lock = threading.RLock()
        self._base = self.weights()
        self.index = 0
        self.notice = ""
        # decode the view-dependent texture on every N-th tracked frame and reuse the last one in
        # between (G, H, z and the landmarks are computed on every frame): a real-time trade-off
        self.texture_every = max(1, int(texture_every))
        self._texture: np.ndarray | None = None  # last corrected texture (3, T, T)
        self._texture_age = 0
        self._texture_gen = 0  # bumped when the texture is invalidated: the worker's older answers are dropped
        self._texture_index = -1  # frame index of the texture in use (async: the frame it was asked for)
        self._worker = None  # the texture worker (models.tracker_texture)
        self.infer_backend = infer_backend
        # reads bundle.i2znet / dam / color at every call: follows load_adapted (see fast_infer)
        self.fast = FastInfer(self.bundle, infer_backend, self.device)
        self.set_texture_async(texture_async)
        self.set_expression_source(expression_source)

    # ------------------------------------------------------------------ weights
    def weights(self) -> dict:
        """Copy of the adaptable weights: ``{"i2z": state_dict, "color": state_dict}`` on CPU."""
        with self._lock:
            return {k: {n: t.detach().cpu().clone() for n, t in m.state_dict().items()}
                    for k, m in (("i2z", self.bundle.i2znet), ("color", self.bundle.color))}

    def warm_up(self) -> float:
        """One inference on a blank crop, so that CUDA's lazy kernel loading and cuDNN's algorithm
        choice happen now and not on the first camera frame (on an H200 the first frame took ~0.6 s
        and 18 of 300 frames were dropped without this). Touches no tracking state. -> seconds"""
        S = self.cfg.crop_size
        t0 = time.perf_counter()
        x = torch.zeros(1, 3, S, S, device=self.device)
        K = torch.from_numpy(canonical_landmarks_2d() * 0.6 * S + S / 2).float()[None].to(self.device)
        self.fast.prepare(timeout=30.0)  # build the fast graphs now, not on the first camera frames
        if self.gaze is not None:  # the eye texels (0.8 s for T = 256): not on the first camera frame
            self._eye_warper(self.cfg.tex_size)
        try:
            with self._lock:
                self.infer(x, K, texture=True)
                self.infer(x, K, texture=False)  # the geometry-only decode of frames that reuse the texture
        except torch.cuda.OutOfMemoryError:
            self.fall_back_to_cpu("CUDA ran out of memory")
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter() - t0

    def load_adapted(self, weights: dict) -> None:
        """Swap in adapted encoder/colour weights between two frames (atomic)."""
        i2z = copy.deepcopy(self.bundle.i2znet)
        color = copy.deepcopy(self.bundle.color)
        i2z.load_state_dict(weights["i2z"])
        color.load_state_dict(weights["color"])
        i2z.to(self.device).eval()
        color.to(self.device).eval()
        with self._lock:
            self.bundle.i2znet, self.bundle.color = i2z, color
            self._invalidate_texture()  # the colour correction changed: decode a fresh texture next frame
            self.output_filter.reset()  # do not blend the old encoder's answers into the new one's
            # torch serves the new encoder from the next frame on while the fast graph is rebuilt
            self.fast.weights_changed()

    def revert(self) -> None:
        """Back to the weights the tracker was created with."""
        self.load_adapted(self._base)

    def set_expression_source(self, source: str) -> None:
        """Where FrameResult.expressions come from (``landmarks`` | ``fit`` | ``head``, see the constructor),
        from the next frame; the fit starts afresh. Raises ValueError for an unknown source."""
        _check_source(source)
        self.expression_source = source
        fit = source == "fit" and has_arkit(self.bundle.topology)
        self.fit = (self.fit or LandmarkFit(self.bundle.topology)) if fit else None
        if self.fit is not None:
            self.fit.reset()

    @property
    def named_source(self) -> str:
        """Where FrameResult.expressions come from in fact: ``fit``, ``head`` or ``landmarks`` (an asked-for
        source this bundle cannot give falls back to the landmark rule)."""
        if self.fit is not None:
            return "fit"
        head = self.expression_source == "head" and self.bundle.i2znet.head_e is not None
        return "head" if head else "landmarks"

    def set_gaze(self, on: bool) -> None:
        """Estimate the gaze and move the avatar's irises (:mod:`models.gaze`), or not, from the next frame."""
        self.gaze = (self.gaze or IrisGaze()) if on else None
        self._looked = None

    def set_landmark_identity(self, on: bool) -> None:
        """Report landmarks with the per-person corrective (:mod:`models.landmark_identity`) or the
        avatar's own projection, from the next frame; turning it on (from off) starts a fresh estimate."""
        self.identity = (self.identity or LandmarkIdentity()) if on else None

    def set_expression_layer(self, on: bool) -> None:
        """Winks and wide eyes on the decoded geometry (:mod:`models.expression_layer`),
        or not, from the next frame; a bundle on a topology without ARKit fields has no layer."""
        self.expression_layer_on = bool(on)  # the wish: kept by an avatar swap even where this bundle has no layer
        self.layer = (ExpressionLayer.for_topology(self.bundle.topology, smoothing=self._layer_filter(),
                                                   max_gap=self.output_filter.cfg.max_gap) if on else None)
        self.set_matching(self.eye_match, self.mouth_match)

    def set_matching(self, eyes: bool, mouth: bool) -> None:
        """Lid (:mod:`models.eye_match`) and inner-lip (:mod:`models.mouth_match`) matching in the
        expression layer, or not, from the next frame."""
        self.eye_match, self.mouth_match = bool(eyes), bool(mouth)
        if self.layer is not None:
            self.layer.match_eyes(self._neutral_geometry() if self.eye_match else None)
            self.layer.match_mouth(self._neutral_geometry() if self.mouth_match else None)

    def _neutral_geometry(self) -> np.ndarray:
        """(V, 3) the avatar's neutral geometry, decoded once (:func:`models.expression_layer.avatar_neutral`)."""
        if self._neutral is None:
            self._neutral = avatar_neutral(self.bundle)
        return self._neutral

    def _layer_filter(self):
        """The expression layer's 1-euro filter: z's, at the output filter's strength (None when off)."""
        of = self.output_filter
        return of.cfg.scaled(of.cfg.z) if of.enabled else None

    def set_guide(self, guide: str | tuple[str, ...] | None, gain: float = 1.0) -> None:
        """Which expression channels of z follow the detector (:mod:`models.code_guide`), from the next
        frame; raises ValueError for an unknown channel. A bundle without ``guide_codes`` stays unguided."""
        channels = parse_guide(guide)
        codes = self.bundle.manifest.get("guide_codes")
        new = CodeGuide(codes, channels, gain) if codes else None  # raises before anything changes
        self.guide, self.guide_spec, self.guide_gain = new, ",".join(channels) or "none", float(gain)

    def set_smoothing(self, strength: float) -> None:
        """Crop-box smoothing and output-filter strength, in [0, 0.95]."""
        self.smoother.strength = float(np.clip(strength, 0.0, 0.95))
        self.output_filter.set_strength(self.smoother.strength)
        if self.layer is not None:
            self.layer.set_smoothing(self._layer_filter())

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def infer(self, crops: torch.Tensor, keypoints: torch.Tensor | None, texture: bool = True, post=None):
        """Batched E_I + D + C on crops. (B, 3, S, S), (B, 68, 2) -> z, H, G, C(T), timings.
        ``texture=False`` decodes the geometry only (C(T) is None). ``post(z, H) -> (z, H)``
        runs between the encoder and the decoder (the output filter). Runs through ``self.fast``
        (:mod:`models.fast_infer`; the torch backend is the eager code)."""
        return self.fast.infer(crops, keypoints, texture=texture, post=post)

    def _filter(self, box: np.ndarray, ts: float, rule: np.ndarray | None = None):
        """``post`` for :meth:`infer`: the keypoint guidance of z (``rule``: the landmark rule's
        weights, None = unguided), then the output filter on (z, H) of one frame, pose in frame px."""
        S = self.cfg.crop_size
        box_t = torch.from_numpy(box)[None]
        guide = self.guide if rule is not None and self.guide is not None and self.guide.active else None

        def post(z: torch.Tensor, H: torch.Tensor):
            if guide is not None:
                z = guide(z, rule, self.expressions.names)
            if not self.output_filter.enabled:
                return z, H
            Hf = crop_to_frame(H.double().cpu(), box_t, S)[0].numpy()
            zf, Hf = self.output_filter(z[0].double().cpu().numpy(), Hf, ts, float(box[2]))
            Hc = frame_to_crop(torch.from_numpy(Hf)[None], box_t, S)
            return (torch.from_numpy(zf)[None].to(z.device, z.dtype), Hc.to(H.device, H.dtype))
        return post

    def crop_for(self, frame_bgr: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Smoothed box and crop for detected points. -> box (3,), crop (S, S, 3) uint8."""
        box = self.smoother(C.box_from_landmarks(points))
        return box, C.crop(frame_bgr, box, self.cfg.crop_size)

    def track(self, frame_bgr: np.ndarray, timestamp: float | None = None) -> FrameResult:
        """One frame (H, W, 3) BGR uint8 -> FrameResult."""
        return self.finish(self.prepare(frame_bgr, timestamp))

    def prepare(self, frame_bgr: np.ndarray, timestamp: float | None = None) -> Prepared:
        """Stage 1 of :meth:`track`: detector, crop, the landmark rule and the gaze (numpy and dlib).
        It touches only stage-1 state (detector, box smoother, rule, gaze), so the next frame's
        ``prepare`` may run in another thread while this frame's :meth:`finish` runs
        (:class:`models.two_stage.TwoStage`)."""
        ts = time.time() if timestamp is None else timestamp
        idx = self.index
        self.index += 1
        S = self.cfg.crop_size
        t0 = time.perf_counter()
        face = self.detector.update(frame_bgr)
        t1 = time.perf_counter()
        n_faces = int(getattr(self.detector, "n_faces_last_detection", 1 if face is not None else 0))
        if face is None:
            self.smoother.reset()
            return Prepared(idx, ts, None, n_faces, timings={"detect": 1e3 * (t1 - t0)})
        box, crop_img = self.crop_for(frame_bgr, face.points)
        K = torch.from_numpy(C.to_crop(face.points, box, S)).float()[None].to(self.device)
        x = to_tensor_image(crop_img, self.device)
        # (K,) the landmark rule's named weights, on every frame: for the guide, the layer, and as
        # FrameResult.expressions when the head has no answer (stage-1 state: never updated in finish)
        rule = self.expressions.update(face.points, ts)
        gaze = self.gaze.update(frame_bgr, face.points, ts) if self.gaze is not None else None  # (2, 2)
        fitted = self.fit.update(face.points, ts) if self.fit is not None else None  # (34,) ARKit weights
        layered = self.layer is not None
        eyes = self.expressions.eye_ratios() if layered else None  # (2,)
        mouth = self.expressions.mouth_gap() if layered else None
        t2 = time.perf_counter()
        return Prepared(idx, ts, face, n_faces, box, x, K, rule, gaze,
                        {"detect": 1e3 * (t1 - t0), "crop": 1e3 * (t2 - t1)}, fitted, eyes, mouth)

    def finish(self, p: Prepared) -> FrameResult:
        """Stage 2 of :meth:`track`: the networks (E_I, D, C), the output filter, the projection and the
        landmark corrective, on a :meth:`prepare` d frame (stage-2 state only)."""
        S, ts, face, box, rule, gaze = self.cfg.crop_size, p.timestamp, p.face, p.box, p.rule, p.gaze
        if face is None:
            self.output_filter.reset()
            if self.layer is not None:
                self.layer.reset()
            return FrameResult(p.index, ts, False, "no face in view", p.n_faces, timings=p.timings)
        if self._worker is not None and self._worker.failures:  # the worker's decode raised: not again
            with self._lock:
                self._worker_failed(self._worker)
        x, K = p.x.to(self.device), p.K.to(self.device)  # the device may have changed since prepare (CUDA fell back)
        with self._lock:
            fresh = self._texture is None or self._texture_age + 1 >= self.texture_every
            worker = self._worker if self._texture is not None else None  # the first texture: here
            try:
                z, H, G, T, ms = self.infer(x, K, texture=fresh and worker is None, post=self._filter(box, ts, rule))
            except torch.cuda.OutOfMemoryError:  # this frame again on the CPU (the filters saw it once)
                self.fall_back_to_cpu("CUDA ran out of memory")
                x, K, fresh, worker = x.cpu(), K.cpu(), True, None
                z, H, G, T, ms = self.infer(x, K, texture=True, post=self._filter(box, ts, rule))
            if worker is not None:
                self._adopt_texture(worker)
                if fresh:
                    worker.submit(self._texture_gen, p.index, z, view_direction(H))
            if fresh and worker is None:
                self._texture, self._texture_index = T[0].cpu().numpy(), p.index
                self._texture.setflags(write=False)  # shared by the frames that reuse it
            self._texture_age = 0 if fresh else self._texture_age + 1
            texture = self._texture
        if gaze is not None and texture is not None:
            texture = self._look(texture, gaze)
        layer, guide = self.layer, self.guide
        if layer is not None and rule is not None:  # winks (when z's blink is guided), wide eyes on G
            wink = guide is not None and guide.active and "blink" in guide.channels
            G = layer(G, rule, self.expressions.names, ts, wink=wink, eyes=p.eyes, mouth=p.mouth)
        Hf = crop_to_frame(H.double(), torch.from_numpy(box)[None].to(H.device), S)
        lm_model = project(G[:, self.landmark_ids].double(), Hf)[0].cpu().numpy()  # (68, 2)
        own = lm_model.astype(np.float32)
        # eye matching ran at full gain: its lids' opening fractions are those of G
        eyes = layer.eyes if layer is not None and p.eyes is not None and layer.gain == 1.0 else None
        lm = own if self.identity is None else self.identity.update(
            lm_model, face.points, Hf[0].cpu().numpy(), ts, None if eyes is None else eyes.last_fraction)
        message = "" if p.n_faces <= 1 else f"{p.n_faces} faces in view: tracking the largest"
        e = self.fast.last_expr  # the expression head's answer (B, K), None without a head
        if e is not None and self.expression_source == "head":  # the crowd-trained head
            expressions, names = e[0].float().cpu().numpy(), self.expression_names
        elif p.fitted is not None and self.fit is not None:  # all 34 ARKit shapes fitted to the points
            expressions, names = p.fitted, self.fit.names
        else:
            expressions, names = rule, self.expressions.names
        if gaze is not None:  # the eyeLook* weights of the gaze after the expressions
            expressions, names = np.concatenate([expressions, arkit_look(gaze)]), (*names, *LOOK_NAMES)
        return FrameResult(
            p.index, ts, True, message, p.n_faces, box, S,
            z[0].cpu().numpy(), H[0].cpu().numpy(), Hf[0].cpu().numpy(), G[0].cpu().numpy(),
            texture, lm, np.asarray(face.points, np.float32), {**p.timings, **ms},
            expressions=expressions, expression_names=names, gaze=gaze, model_landmarks=own,
        )

    def fall_back_to_cpu(self, why: str) -> None:
        """Move every model to the CPU after a CUDA error or out-of-memory; ``notice`` says why."""
        self.notice = f"{why}: tracking continues on the CPU"
        log.warning(self.notice)
        with torch.no_grad():
            torch.cuda.empty_cache()
        self.device = torch.device("cpu")
        self.output_filter.reset()  # the frame is tracked again: do not feed the filter twice
        self.bundle.to(self.device)
        self.landmark_ids = self.landmark_ids.cpu()
        self.fast = FastInfer(self.bundle, self.infer_backend, self.device)  # the CPU may have a fast path

    def reset(self) -> None:
        """Forget the face track (e.g. after a source switch)."""
        self.smoother.reset()
        self.output_filter.reset()
        self.expressions.reset()
        if self.fit is not None:
            self.fit.reset()
        if self.gaze is not None:
            self.gaze.reset()
        if self.identity is not None:
            self.identity.reset()
        if self.layer is not None:
            self.layer.reset()
        self._invalidate_texture()
        if hasattr(self.detector, "reset"):
            self.detector.reset()
