"""The ``python -m studio`` command registry."""

from __future__ import annotations

import numpy as np

from studio import cli


def test_head_command_registered_and_other_modules_can_register(monkeypatch, tmp_path):
    assert "head" in cli.commands()
    seen = {}
    monkeypatch.setattr(cli, "_REGISTRY", dict(cli._REGISTRY))
    cli.register("dummy", "a test command", lambda p: p.add_argument("--n", type=int, default=1),
                 lambda a: seen.setdefault("n", a.n) and 0)
    assert cli.main(["dummy", "--n", "3"]) == 0 and seen["n"] == 3


def test_identity_fields_keep_closed_lips_and_the_seam_welded(head):
    V = head.vertices.astype(np.float64)
    _, inv, cnt = np.unique(np.round(V, 6), axis=0, return_inverse=True, return_counts=True)
    inv = inv.ravel()
    twins = np.where(cnt[inv] == 2)[0]
    assert len(twins) > 20  # inner-lip edges and the seam at the back of the head
    K = head.extras["identity_basis"]
    order = twins[np.argsort(inv[twins], kind="stable")].reshape(-1, 2)
    np.testing.assert_allclose(K[:, order[:, 0]], K[:, order[:, 1]], atol=1e-6)
