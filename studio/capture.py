"""Studio captures: a calibrated multi-view "lab" and single-camera "wild" rooms.

``python -m studio capture --kind lab --person SEED --views 8 --frames N --out DIR``
``python -m studio capture --kind wild --person SEED --room NAME --frames N --out DIR``

Output follows the format documented in :mod:`models.data` (manifest.json, gt.npz,
images/textures .npy for lab, video.mp4 for wild). A capture is written into a temporary
sibling folder and renamed into place at the end, so an interrupted or failed capture never
looks complete.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from models.camera import euler_from_matrix, project, rotation_matrix, transform, view_direction
from models.data import CAPTURE_FORMAT, image_file, mask_file, texture_file
from render.context import create_context
from render.face_renderer import FaceRenderer
from render.uv_shading import UVShader

from .camera_fx import apply_fx, auto_exposure, clutter_background, plain_background, shake
from .rooms import Room, get_room, lighting_for_pose

LAB_VIEWS = [(0.0, 0.0), (-35.0, 0.0), (35.0, 0.0), (-60.0, 5.0), (60.0, 5.0), (0.0, -20.0), (-20.0, 18.0),
             (20.0, 18.0), (-45.0, -15.0), (45.0, -15.0), (0.0, 25.0), (-10.0, -8.0)]  # (yaw, pitch) deg


class CaptureInputError(ValueError):
    """Bad capture request (unknown room, zero frames, unwritable folder, ...)."""


@dataclass
class Stage:
    """The renderers and the person shared by every frame of a capture."""

    person: object
    renderer: FaceRenderer
    shader: UVShader
    albedo: np.ndarray
    salient_fid: np.ndarray
    salient_bary: np.ndarray


def accessorize(stage: Stage, enabled: bool) -> None:
    """With ``enabled``, paint the person's facial hair and makeup into the stage's albedo
    (:mod:`studio.grooming`; the eyeglasses are drawn per frame by :class:`studio.glasses.GlassesLayer`)."""
    g = getattr(stage.person, "grooming", None)
    if enabled and g is not None:
        from .grooming import apply

        stage.albedo = apply(stage.albedo, stage.person.topology, stage.person.skin.hair, g, stage.person.seed)


class GazeAlbedo:
    """The stage's albedo with the iris moved to each frame's gaze (:class:`models.gaze.EyeWarp`);
    the plain albedo for a performance without gaze."""

    def __init__(self, stage: Stage, gaze: np.ndarray | None) -> None:
        from models.gaze import EyeWarp

        self.albedo, self.gaze = stage.albedo, gaze
        self.warp = EyeWarp(stage.person.topology, stage.albedo.shape[0]) if gaze is not None else None

    def __call__(self, t: int) -> np.ndarray:
        return self.albedo if self.warp is None else self.warp.apply(self.albedo, self.gaze[t])


def is_seed(person) -> bool:
    """A studio person's seed (int), as opposed to a person object such as an enrolled person."""
    return isinstance(person, (int, np.integer))


def make_stage(person_seed, tex_size: int):
    """``person_seed``: a studio seed, or a person object (e.g. an enrolled person)."""
    from .head import Person

    person = Person(person_seed) if is_seed(person_seed) else person_seed
    ctx = create_context()
    topo = person.topology
    fid, bary = topo.locate_uv(person.salient_uv)
    return Stage(person, FaceRenderer(topo, ctx), UVShader(topo, ctx), person.albedo(tex_size), fid, bary)


def _pose(rot: np.ndarray, cam_rot: np.ndarray) -> np.ndarray:
    """Head rotation seen from a camera rotated by cam_rot (rx, ry, rz). -> (3,)"""
    R = rotation_matrix(torch.as_tensor(cam_rot, dtype=torch.float64)) @ rotation_matrix(
        torch.as_tensor(rot, dtype=torch.float64))
    return euler_from_matrix(R).numpy()


def frame_truth(stage: Stage, G: np.ndarray, H: np.ndarray, depth: np.ndarray) -> dict:
    """Landmarks, salient points (+ visibility from the depth buffer) and view direction."""
    Gt = torch.from_numpy(G).double()
    Ht = torch.from_numpy(H).double()
    lm = project(Gt[stage.person.topology.landmark_ids], Ht).numpy()
    tri = Gt[stage.person.topology.faces[stage.salient_fid]]  # (M, 3, 3)
    P = (tri * torch.from_numpy(stage.salient_bary).double()[..., None]).sum(1)
    Pc = transform(P, Ht).numpy()
    h, w = depth.shape
    vis = np.zeros(len(Pc), bool)
    for m, (x, y, z) in enumerate(Pc):
        c, r = int(round(x)), int(round(y))
        if 0 <= c < w and 0 <= r < h:
            vis[m] = abs(depth[r, c] - z) < 0.02 * H[0] + 0.5
    return {"landmarks": lm, "salient": Pc[:, :2], "salient_visible": vis,
            "view_dir": view_direction(Ht).numpy()}


def _prepare_out(out: Path) -> Path:
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.parent / f".{out.name}.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
    except OSError as e:
        raise CaptureInputError(f"cannot write the capture to {out}: {e.strerror or e}") from e
    return tmp


def _finish(tmp: Path, out: Path, manifest: dict, gt: dict) -> Path:
    np.savez_compressed(tmp / "gt.npz", **gt)
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return out


def person_label(person) -> int | str:
    """What the manifest records as the person: the seed, or an enrolled person's name."""
    return int(person) if is_seed(person) else f"enrolled:{getattr(person, 'name', 'person')}"


def capture_lab(person, views: int, frames: int, out: str | Path, size: int = 160, tex_size: int = 256,
                seed: int | None = None, kind: str = "mixed", progress=None, room: str = "lab",
                accessories: bool = False) -> Path:
    """Synchronised calibrated views, even white light, plain background (``room``: a lab-like
    room of :mod:`studio.rooms`). ``accessories``: draw the person's eyeglasses, facial hair and makeup
    (:mod:`studio.glasses`, :mod:`studio.grooming`; off by default so that existing captures stay as they were)."""
    from .glasses import GlassesLayer
    from .performance import performance

    if frames <= 0 or views <= 0:
        raise CaptureInputError("frames and views must be positive")
    if views > len(LAB_VIEWS):
        raise CaptureInputError(f"at most {len(LAB_VIEWS)} lab views")
    out = Path(out)
    tmp = _prepare_out(out)
    try:
        t0 = time.time()
        seed = (person if is_seed(person) else 0) if seed is None else seed
        stage = make_stage(person, tex_size)
        room = get_room(room)
        perf = performance(seed, frames, kind=kind)
        cams = np.radians([[p, y, 0.0] for y, p in LAB_VIEWS[:views]])
        accessorize(stage, accessories)
        albedo_at = GazeAlbedo(stage, perf.gaze)
        glasses = GlassesLayer(stage.person, accessories)
        f = 0.32 * size
        bg = plain_background((size, size), room.fx.background_color)
        imgs = np.lib.format.open_memmap(tmp / "_images.npy", "w+", np.uint8, (views, frames, size, size, 3))
        texs = np.lib.format.open_memmap(tmp / "_textures.npy", "w+", np.uint8,
                                         (views, frames, tex_size, tex_size, 3))
        masks = np.zeros((views, frames, size, size), bool)
        gt = {k: [] for k in ("H", "landmarks", "salient", "salient_visible", "view_dir")}
        Gs = []
        for t in range(frames):
            G = stage.person.geometry(perf.expr[t]).astype(np.float32)
            Gs.append(G)
            albedo = albedo_at(t)
            rows = {k: [] for k in gt}
            for v in range(views):
                rot = _pose(perf.rot[t], cams[v])
                H = np.array([f, *rot, size / 2 + f * perf.shift[t, 0], size / 2 + f * perf.shift[t, 1]], np.float64)
                lighting = lighting_for_pose(room, _pose(perf.rot[t], np.zeros(3)))
                vd = view_direction(torch.from_numpy(H)).numpy()
                tex = stage.shader.shade(G, albedo, vd, lighting)
                res = stage.renderer.render(G, H, tex, (size, size), bg)
                imgs[v, t] = glasses(res.rgb, res.depth, H)
                masks[v, t] = res.mask
                texs[v, t] = np.clip(tex * 255 + 0.5, 0, 255).astype(np.uint8)
                truth = frame_truth(stage, G, H, res.depth)
                for k in rows:
                    rows[k].append(H if k == "H" else truth[k])
            for k in gt:
                gt[k].append(np.stack(rows[k]))
            if progress:
                progress(t + 1, frames)
        for v in range(views):  # one file per view (memory-mapped by readers)
            np.save(tmp / image_file(v), imgs[v])
            np.save(tmp / texture_file(v), texs[v])
            np.save(tmp / mask_file(v), np.packbits(masks[v], axis=-1))
        del imgs, texs
        (tmp / "_images.npy").unlink()
        (tmp / "_textures.npy").unlink()
        arrays = {k: np.stack(v).astype(np.float32 if k != "salient_visible" else bool) for k, v in gt.items()}
        arrays.update(G=np.stack(Gs), expr=perf.expr.astype(np.float32), rot_world=perf.rot.astype(np.float32),
                      salient_uv=np.asarray(stage.person.salient_uv, np.float32))
        if perf.gaze is not None:
            arrays["gaze"] = perf.gaze.astype(np.float32)
        manifest = dict(format_version=CAPTURE_FORMAT, kind="lab", seed=seed, person=person_label(person),
                        room=room.name,
                        views=views, frames=frames, image_size=size, tex_size=tex_size, fps=30,
                        camera={"views_deg": LAB_VIEWS[:views], "f": f}, performance=kind,
                        glasses=glasses.g.colour_name if glasses.g is not None else None,
                        seconds=round(time.time() - t0, 1))
        return _finish(tmp, out, manifest, arrays)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def capture_wild(person: int, room: str | Room, frames: int, out: str | Path, size: tuple[int, int] = (384, 288),
                 tex_size: int = 256, seed: int | None = None, kind: str = "mixed", face_scale: float = 0.14,
                 progress=None, accessories: bool = False) -> Path:
    """One camera in a different room: coloured/directional light, camera effects, clutter.
    Writes video.mp4 (what the tracker sees) and gt.npz (never read by the tracker).
    ``accessories``: draw the person's eyeglasses, facial hair and makeup (:mod:`studio.glasses`,
    :mod:`studio.grooming`; off by default)."""
    from .glasses import GlassesLayer
    from .performance import performance

    room = get_room(room) if isinstance(room, str) else room
    if frames <= 0:
        raise CaptureInputError("frames must be positive")
    out = Path(out)
    tmp = _prepare_out(out)
    try:
        t0 = time.time()
        if seed is None:
            seed = person * 1000 + 17 if is_seed(person) else 4242
        rng = np.random.default_rng([seed, sum(map(ord, room.name))])
        stage = make_stage(person, tex_size)
        perf = performance(seed, frames, kind=kind)
        w, h = size
        f = face_scale * w  # crop pixels per model unit: the face spans about 2 f
        if room.fx.background == "clutter":
            bg = clutter_background((w, h), rng)
        else:
            bg = plain_background((w, h), room.fx.background_color)
        offs = shake(frames, room.fx.shake_px * w / 256, rng)
        accessorize(stage, accessories)
        albedo_at = GazeAlbedo(stage, perf.gaze)
        glasses = GlassesLayer(stage.person, accessories)
        writer = cv2.VideoWriter(str(tmp / "video.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (w, h))
        if not writer.isOpened():
            raise CaptureInputError("OpenCV cannot write mp4 video here (no mp4v encoder)")
        gt = {k: [] for k in ("H", "landmarks", "salient", "salient_visible", "view_dir")}
        Gs, prev_centre, gain, bg_u8 = [], None, None, None
        for t in range(frames):
            G = stage.person.geometry(perf.expr[t]).astype(np.float32)
            Gs.append(G)
            rot = perf.rot[t]
            cx = w / 2 + f * perf.shift[t, 0] * 2 + offs[t, 0]
            cy = h / 2 + f * perf.shift[t, 1] * 2 + offs[t, 1]
            H = np.array([f, *rot, cx, cy], np.float64)
            vd = view_direction(torch.from_numpy(H)).numpy()
            tex = stage.shader.shade(G, albedo_at(t), vd, lighting_for_pose(room, rot))
            res = stage.renderer.render(G, H, tex, (w, h), bg_u8 if gain is not None else (bg * 255).astype(np.uint8))
            if gain is None:  # the webcam's auto exposure settles on the first frame; the room behind
                gain = auto_exposure(res.rgb, res.mask)  # the person is lit like the face
                bg_u8 = (np.clip(bg * rng.uniform(0.35, 0.6) / (gain * float(bg.mean())), 0, 1) * 255).astype(np.uint8)
                res = stage.renderer.render(G, H, tex, (w, h), bg_u8)
            centre = np.array([cx, cy])
            vel = centre - prev_centre if prev_centre is not None else np.zeros(2)
            prev_centre = centre
            rgb = glasses(res.rgb, res.depth, H)
            frame = apply_fx(rgb.astype(np.float32) / 255.0, room.fx, t / max(frames - 1, 1), rng, vel, gain)
            writer.write(np.ascontiguousarray(frame[..., ::-1]))
            truth = frame_truth(stage, G, H, res.depth)
            gt["H"].append(H[None])
            for k in ("landmarks", "salient", "salient_visible", "view_dir"):
                gt[k].append(truth[k][None])
            if progress:
                progress(t + 1, frames)
        writer.release()
        arrays = {k: np.stack(v).astype(np.float32 if k != "salient_visible" else bool) for k, v in gt.items()}
        arrays.update(G=np.stack(Gs), expr=perf.expr.astype(np.float32),
                      salient_uv=np.asarray(stage.person.salient_uv, np.float32))
        if perf.gaze is not None:
            arrays["gaze"] = perf.gaze.astype(np.float32)
        manifest = dict(format_version=CAPTURE_FORMAT, kind="wild", seed=seed, person=person_label(person),
                        room=room.name,
                        room_description=room.description, views=1, frames=frames, image_size=[w, h],
                        tex_size=tex_size, fps=30, camera={"f": f, "size": [w, h], "auto_gain": gain},
                        performance=kind, glasses=glasses.g.colour_name if glasses.g is not None else None,
                        seconds=round(time.time() - t0, 1))
        return _finish(tmp, out, manifest, arrays)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
