"""``python -m studio guide-codes``: the avatar's expression directions written into its manifest."""

import json

import numpy as np
import pytest
import torch

from models import bundle as B
from models.code_guide import BASIS, CodeGuide, basis_expressions
from models.config import profile
from studio.cli import main
from studio.expressions import EXPRESSION_NAMES
from studio.retarget import avatar_codes


@pytest.fixture()
def tiny_bundle(tmp_path):
    torch.manual_seed(0)
    b = B.build(profile("tiny").replace(topology="head_v1"), load_pretrained=False)
    return B.save(b, tmp_path / "avatar", provenance={"person": 0}, include_encoder=True)


def test_guide_codes_writes_directions_that_equal_the_avatar_codes_and_survive_a_save(tiny_bundle, tmp_path):
    sha = B.read_manifest(tiny_bundle)["weights_sha256"]
    assert main(["guide-codes", "--bundle", str(tiny_bundle)]) == 0
    m = B.read_manifest(tiny_bundle)
    assert m["weights_sha256"] == sha  # the weights are untouched
    codes = m["guide_codes"]
    b = B.load(tiny_bundle)  # still loads (checksum, format)
    z = avatar_codes(b.dam.eval(), 0, basis_expressions(EXPRESSION_NAMES), np.zeros((len(BASIS) + 1, 3)),
                     b.cfg.tex_size).numpy()
    assert np.allclose(codes["z0"], z[0], atol=1e-5)
    for i, c in enumerate(BASIS):
        assert np.allclose(codes["directions"][c], z[i + 1] - z[0], atol=1e-5)
    assert CodeGuide(codes, ("blink",)).D.shape == (len(BASIS), b.cfg.z_dim)
    again = B.save(b, tmp_path / "copy", include_encoder=True)  # a re-save (calibration, enrollment) keeps them
    assert B.read_manifest(again)["guide_codes"] == codes


def test_an_enrolled_avatar_gets_its_warm_starts_directions_and_a_personless_one_is_refused(tiny_bundle, tmp_path):
    assert main(["guide-codes", "--bundle", str(tiny_bundle)]) == 0
    b = B.load(tiny_bundle)
    b.manifest.pop("guide_codes")
    enrolled = B.save(b, tmp_path / "me", include_encoder=True,
                      provenance={"person": "enrolled:me", "warm_start": str(tiny_bundle)})
    assert "guide_codes" not in B.read_manifest(enrolled)
    assert main(["guide-codes", "--bundle", str(enrolled)]) == 0
    assert B.read_manifest(enrolled)["guide_codes"] == B.read_manifest(tiny_bundle)["guide_codes"]
    assert main(["guide-codes", "--bundle", str(enrolled), "--own"]) == 2  # no person.npz to compute them from
    from studio.enroll.person import EnrolledPerson
    from studio.head import Person

    p3 = Person(3)  # stands in for the enrolled person: its own geometry and albedo
    EnrolledPerson(p3.neutral, p3.albedo(64), p3.skin, "me").save(enrolled / "person.npz")
    assert main(["guide-codes", "--bundle", str(enrolled), "--own"]) == 0
    own = B.read_manifest(enrolled)["guide_codes"]
    assert own["source"].endswith("(person=enrolled:me)")
    z = avatar_codes(B.load(enrolled).dam.eval(), EnrolledPerson.load(enrolled / "person.npz"),
                     basis_expressions(EXPRESSION_NAMES), np.zeros((len(BASIS) + 1, 3)), b.cfg.tex_size).numpy()
    assert np.allclose(own["z0"], z[0], atol=1e-5)
    assert not np.allclose(own["z0"], B.read_manifest(tiny_bundle)["guide_codes"]["z0"], atol=1e-3)  # not a copy
    anon = B.save(b, tmp_path / "anon", include_encoder=True, provenance={"note": "no studio person"})
    assert main(["guide-codes", "--bundle", str(anon)]) == 2
    assert "guide_codes" not in json.loads((anon / "manifest.json").read_text())
