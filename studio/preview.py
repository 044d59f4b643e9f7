"""Quick look at a studio person: flat-shaded, textured software renders (numpy + cv2).

``python -m studio.preview --seed 0 --out /tmp/person.png`` writes a contact sheet of a
person, frontal and at 30 degrees yaw, neutral and with a few expressions. It is a
development aid (painter's algorithm, one colour per triangle), not the studio renderer.
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from models.camera import rotation_matrix_np


def render(G, faces, size=256, f=100.0, rot=(0.0, 0.0, 0.0), colors=None, uvs=None, albedo=None,
           light=(-0.4, -0.5, -1.0), landmarks=None, points=None, center=(0.0, -0.25)) -> np.ndarray:
    """Painter's-algorithm render of mesh G (V, 3) -> BGR uint8 (size, size, 3).

    Colours per face come from ``colors`` (F, 3) or from sampling ``albedo`` (T, T, 3) at
    the face centroid uv. Optional ``landmarks`` (vertex ids, drawn green) and ``points``
    (M, 3 model-space points, drawn red).
    """
    R = rotation_matrix_np(rot)
    X = np.asarray(G, np.float64) @ R.T
    off = size / 2.0 - f * np.asarray(center)
    p2 = f * X[:, :2] + off
    tri = X[faces]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    L = np.asarray(light, np.float64)
    L /= np.linalg.norm(L)  # towards the light
    shade = 0.25 + 0.75 * np.clip(n @ L, 0.0, 1.0)
    if colors is None and albedo is not None:
        T = albedo.shape[0]
        c = np.clip((uvs[faces].mean(1) * T).astype(int), 0, T - 1)
        colors = albedo[c[:, 1], c[:, 0]]
    if colors is None:
        colors = np.full((len(faces), 3), 0.8)
    col = np.clip(colors * shade[:, None], 0, 1)
    img = np.full((size, size, 3), 40, np.uint8)
    facing = n[:, 2] < 0.02
    order = np.argsort(-tri[:, :, 2].mean(1))
    sub = 4
    for k in order:
        if not facing[k]:
            continue
        pts = np.round(p2[faces[k]] * sub).astype(np.int32)
        c = tuple(int(255 * v) for v in col[k][::-1])
        cv2.fillConvexPoly(img, pts, c, lineType=cv2.LINE_AA, shift=2)
    if landmarks is not None:
        for i, q in enumerate(p2[landmarks]):
            cv2.circle(img, (int(round(q[0])), int(round(q[1]))), 1, (0, 255, 0), -1)
            if size >= 384 and i % 4 == 0:
                cv2.putText(img, str(i), (int(q[0]) + 2, int(q[1])), cv2.FONT_HERSHEY_PLAIN, 0.6, (0, 255, 0))
    if points is not None:
        q2 = f * (np.asarray(points) @ R.T)[:, :2] + off
        for q in q2:
            cv2.circle(img, (int(round(q[0])), int(round(q[1]))), 3, (0, 0, 255), 1)
    return img


def contact_sheet(seed: int = 0, size: int = 256, exprs=None) -> np.ndarray:
    from studio.head import Person

    person = Person(seed)
    topo = person.topology
    albedo = person.albedo(512)
    exprs = exprs or [{}, {"jaw_open": 1.0}, {"smile_L": 1.0, "smile_R": 1.0}, {"blink_L": 1.0},
                      {"brow_raise": 1.0, "pucker": 0.8}]
    rows = []
    for rot in ((0.0, 0.0, 0.0), (0.0, np.radians(30), 0.0)):
        tiles = []
        for e in exprs:
            G = person.geometry(e)
            img = render(G, topo.faces, size, size * 0.3, rot, uvs=topo.uvs, albedo=albedo)
            tiles.append(img)
        rows.append(np.concatenate(tiles, 1))
    return np.concatenate(rows, 0)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--out", default="/tmp/studio_preview.png")
    a = ap.parse_args(argv)
    cv2.imwrite(a.out, contact_sheet(a.seed, a.size))
    print(a.out)


if __name__ == "__main__":
    main()
