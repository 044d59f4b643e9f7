"""The enrolled person as a studio person (issue 17, item 4).

:class:`EnrolledPerson` has the interface of :class:`studio.head.Person` that the captures use
(``topology``, ``neutral``, ``geometry``, ``geometry_batch``, ``landmarks``, ``salient_uv``,
``albedo(T)``, the expression names), with the fitted rest geometry and the unwrapped albedo in
place of the seeded ones, so ``studio.capture.capture_lab(person=EnrolledPerson(...))`` renders
the person's own lab.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np

from models.files import save_npz
from models.topology import Topology
from studio.head import Person, template
from studio.texture import SkinParams


class EnrolledPerson(Person):
    """A person from a clip: neutral (V, 3), albedo (T0, T0, 3) float RGB in [0, 1]."""

    def __init__(self, neutral: np.ndarray, albedo: np.ndarray, skin: SkinParams, name: str = "enrolled",
                 topology: Topology | None = None, alpha: np.ndarray | None = None):
        self.seed = -1
        self.name = name
        self.topology = topology if topology is not None else template()
        ex = self.topology.extras
        self.expression_names = [str(n) for n in ex["blendshape_names"]]
        self.identity_names = [str(n) for n in ex["identity_names"]]
        self._B = ex["blendshapes"].astype(np.float32)
        K = len(self.identity_names)
        self.identity = np.zeros(K, np.float32) if alpha is None else np.asarray(alpha, np.float32)
        self.skin = skin
        self.neutral = np.asarray(neutral, np.float32)
        if self.neutral.shape != self.topology.vertices.shape:
            raise ValueError(f"neutral geometry {self.neutral.shape} does not match the topology "
                             f"{self.topology.vertices.shape}")
        self.salient_uv = self.topology.salient_uv.astype(np.float32)
        self._source = np.asarray(albedo, np.float32)
        self._albedo: dict[int, np.ndarray] = {}

    def albedo(self, T: int = 256) -> np.ndarray:
        T = int(T)
        if T not in self._albedo:
            src = self._source
            out = src if src.shape[0] == T else cv2.resize(src, (T, T), interpolation=cv2.INTER_AREA
                                                           if T < src.shape[0] else cv2.INTER_LINEAR)
            out = np.ascontiguousarray(out, np.float32)
            out.setflags(write=False)
            self._albedo[T] = out
        return self._albedo[T]

    # ------------------------------------------------------------------ files
    def save(self, path: str | Path) -> Path:
        """person.npz (geometry, albedo as uint8, knobs) written atomically."""
        return save_npz(path, compressed=True, neutral=self.neutral, identity=self.identity,
                        albedo=np.clip(self._source * 255 + 0.5, 0, 255).astype(np.uint8),
                        skin=np.array(json.dumps(asdict(self.skin))), name=np.array(self.name),
                        topology=np.array(self.topology.name))

    @classmethod
    def load(cls, path: str | Path) -> EnrolledPerson:
        with np.load(path) as z:
            skin = SkinParams(**{k: tuple(v) if isinstance(v, list) else v
                                 for k, v in json.loads(str(z["skin"])).items()})
            return cls(z["neutral"], z["albedo"].astype(np.float32) / 255.0, skin, str(z["name"]),
                       alpha=z["identity"])


__all__ = ["EnrolledPerson"]
