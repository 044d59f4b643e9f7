"""Avatar bundles: everything the tracker needs, in a folder.

``<bundle>/manifest.json``  format version, profile, config, topology name + digest,
                            weights sha256, dtype, training provenance
``<bundle>/weights.safetensors``  tensors ``dam.*``, ``i2z.*``, ``color.*`` and the
                            topology arrays ``topology.*`` (so a bundle is self-contained)

Loading never unpickles. Every problem -- missing folder or file, wrong format version,
corrupted file, config/topology mismatch -- raises :class:`BundleError` with a message
that says what to do.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .color import ColorCorrection
from .config import ModelConfig
from .dam import DeepAppearanceModel
from .files import replace_folder, sha256
from .i2znet import I2ZNet
from .topology import Topology, load_topology

BUNDLE_FORMAT = 1
DEFAULT_BUNDLE = Path(__file__).resolve().parent / "assets" / "default_avatar"  # committed lite avatar
MANIFEST = "manifest.json"
WEIGHTS = "weights.safetensors"
_TOPO_KEYS = ("vertices", "faces", "uvs", "landmark_ids", "salient_uv")


class BundleError(RuntimeError):
    """A model bundle cannot be used; the message says why and what to do."""


@dataclass
class AvatarBundle:
    """A built (or loaded) avatar: config, topology and the three networks."""

    cfg: ModelConfig
    topology: Topology
    dam: DeepAppearanceModel
    i2znet: I2ZNet
    color: ColorCorrection
    manifest: dict = field(default_factory=dict)

    def to(self, device: torch.device | str) -> AvatarBundle:
        for m in (self.dam, self.i2znet, self.color):
            m.to(device)
        return self


def build(cfg: ModelConfig, topology: Topology | None = None, load_pretrained: bool | None = None) -> AvatarBundle:
    """Fresh, untrained networks for a config (pretrained streams from the cache if asked)."""
    topology = topology if topology is not None else load_topology(cfg.topology)
    dam = DeepAppearanceModel(cfg, torch.from_numpy(topology.vertices))
    return AvatarBundle(cfg, topology, dam, I2ZNet(cfg, load_pretrained), ColorCorrection(cfg.color_bias))



def save(bundle: AvatarBundle, path: str | Path, provenance: dict | None = None,
         include_encoder: bool = False, dtype: str = "float32") -> Path:
    """Write a bundle folder atomically (temp folder + rename). Returns the path."""
    from safetensors.torch import save_file

    path = Path(path)
    tensors: dict[str, torch.Tensor] = {}
    torch_dtype = {"float32": torch.float32, "float16": torch.float16}[dtype]
    for prefix, module in (("dam", bundle.dam), ("i2z", bundle.i2znet), ("color", bundle.color)):
        for k, v in module.state_dict().items():
            if prefix == "dam" and k.startswith("encoder.") and not include_encoder:
                continue
            v = v.detach().cpu()
            tensors[f"{prefix}.{k}"] = (v.to(torch_dtype) if v.is_floating_point() else v).contiguous()
    for k in _TOPO_KEYS:
        tensors[f"topology.{k}"] = torch.from_numpy(np.ascontiguousarray(getattr(bundle.topology, k)))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=path.name + ".", dir=path.parent))
    try:
        save_file(tensors, str(tmp / WEIGHTS))
        manifest = {
            "format_version": BUNDLE_FORMAT,
            "profile": bundle.cfg.name,
            "config": bundle.cfg.to_dict(),
            "topology": {"name": bundle.topology.name, "digest": bundle.topology.digest()},
            "weights_sha256": sha256(tmp / WEIGHTS),
            "dtype": dtype,
            "has_encoder": include_encoder,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "provenance": provenance or bundle.manifest.get("provenance", {}),
        }
        if bundle.cfg.expr_dim:  # names of the expression head's outputs, in order
            manifest["expression_names"] = list(bundle.manifest.get("expression_names", ()))
        if "guide_codes" in bundle.manifest:  # the expression directions of models.code_guide
            manifest["guide_codes"] = bundle.manifest["guide_codes"]
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
        replace_folder(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def read_manifest(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_dir():
        raise BundleError(f"avatar bundle {path} not found (expected a folder with {MANIFEST} and {WEIGHTS}); "
                          "pass --bundle PATH or rebuild it with `python -m bench.build_default_avatar`")
    mpath = path / MANIFEST
    if not mpath.exists():
        raise BundleError(f"avatar bundle {path} has no {MANIFEST}; it is incomplete - rebuild or re-copy it")
    try:
        manifest = json.loads(mpath.read_text())
    except (OSError, ValueError) as e:
        raise BundleError(f"{mpath} is not valid JSON ({e}); the bundle is corrupted - rebuild or re-copy it") from e
    version = manifest.get("format_version")
    if version != BUNDLE_FORMAT:
        raise BundleError(f"avatar bundle {path} has format version {version}, this program reads version "
                          f"{BUNDLE_FORMAT}; rebuild it with this version (`python -m bench.build_default_avatar`)")
    return manifest


def load(path: str | Path, device: torch.device | str = "cpu") -> AvatarBundle:
    """Load a bundle folder; raises :class:`BundleError` on any problem."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    manifest = read_manifest(path)
    wpath = path / WEIGHTS
    if not wpath.exists():
        raise BundleError(f"avatar bundle {path} has no {WEIGHTS}; it is incomplete - rebuild or re-copy it")
    if sha256(wpath) != manifest.get("weights_sha256"):
        raise BundleError(f"{wpath} does not match the checksum in its manifest: the file is corrupted or was "
                          "replaced - rebuild or re-copy the bundle")
    try:
        tensors = load_file(str(wpath))
        cfg = ModelConfig.from_dict(manifest["config"])
    except (SafetensorError, KeyError, ValueError, TypeError) as e:
        raise BundleError(f"avatar bundle {path} is unreadable ({type(e).__name__}: {e})") from e
    try:
        topology = Topology(manifest["topology"]["name"],
                            *(tensors[f"topology.{k}"].numpy() for k in _TOPO_KEYS))
    except Exception as e:
        raise BundleError(f"avatar bundle {path} has no usable topology ({e})") from e
    if topology.digest() != manifest["topology"]["digest"]:
        raise BundleError(f"avatar bundle {path}: topology arrays do not match the manifest digest "
                          f"({topology.digest()} != {manifest['topology']['digest']}); the bundle is inconsistent")
    bundle = AvatarBundle(cfg, topology, DeepAppearanceModel(cfg, torch.from_numpy(topology.vertices)),
                          I2ZNet(cfg, load_pretrained=False), ColorCorrection(cfg.color_bias), manifest)
    for prefix, module in (("dam", bundle.dam), ("i2z", bundle.i2znet), ("color", bundle.color)):
        state = {k[len(prefix) + 1:]: v.float() if v.is_floating_point() else v
                 for k, v in tensors.items() if k.startswith(prefix + ".")}
        strict = not (prefix == "dam" and not manifest.get("has_encoder", False))
        try:
            missing, unexpected = module.load_state_dict(state, strict=False)
        except RuntimeError as e:  # shape mismatch
            raise BundleError(f"avatar bundle {path}: {prefix} weights do not fit its config "
                              f"(profile {cfg.name}): {str(e).splitlines()[0]}") from e
        if not strict:
            missing = [k for k in missing if not k.startswith("encoder.")]
        if missing or unexpected:
            raise BundleError(f"avatar bundle {path}: {prefix} weights do not fit its config (profile {cfg.name}); "
                              f"missing {missing[:3]}, unexpected {unexpected[:3]}")
    return bundle.to(device)
