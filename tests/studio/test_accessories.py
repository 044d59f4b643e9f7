"""Procedural eyeglasses (studio.glasses): deterministic per seed, diverse, drawn around the eyes and
only with accessories on (existing captures unchanged)."""

import numpy as np

from studio.glasses import P_GLASSES, sample


def test_glasses_are_deterministic_diverse_and_worn_by_a_share_of_the_crowd():
    pairs = [sample(s) for s in range(200)]
    worn = [g for g in pairs if g is not None]
    assert abs(len(worn) / len(pairs) - P_GLASSES) < 0.12
    assert all(sample(s) == pairs[s] for s in range(20))
    assert len({g.colour_name for g in worn}) >= 4 and len({round(g.width, 3) for g in worn}) == len(worn)


def test_glasses_render_around_the_eyes_and_only_with_accessories():
    from studio.crowd_sheet import render_person
    from studio.grooming import sample as groom
    from studio.head import Person

    seed = next(s for s in range(2, 300) if sample(s) is not None and sample(s).colour_name == "black"
                and groom(s).hair is None and groom(s).lipstick is None)  # glasses only
    plain = render_person(seed, 192, yaw_deg=0.0, accessories=False).astype(np.float32)
    worn = render_person(seed, 192, yaw_deg=0.0, accessories=True).astype(np.float32)
    assert np.array_equal(render_person(seed, 192, yaw_deg=0.0, accessories=False), plain.astype(np.uint8))
    d = np.abs(worn - plain).sum(-1)
    rows = np.where(d.max(1) > 30)[0]
    assert len(rows) > 8
    P = Person(seed)
    L = P.neutral[P.topology.landmark_ids]
    f = 0.32 * 192
    eye_row = 96 + f * L[36:48, 1].mean()  # frontal render: y pixel = size / 2 + f y
    mouth_row = 96 + f * L[48:68, 1].mean()
    assert rows.min() < eye_row < rows.max()  # the rims straddle the eyes
    assert d[int(mouth_row) - 3:int(mouth_row) + 4].max() < 1  # the mouth is untouched
    assert (worn[d > 60].mean(-1) < plain[d > 60].mean(-1)).mean() > 0.5  # a black frame darkens
    nobody = next(s for s in range(2, 300) if sample(s) is None and groom(s).hair is None and groom(s).lipstick is None)
    assert np.array_equal(render_person(nobody, 96, accessories=True), render_person(nobody, 96, accessories=False))


def test_a_wild_capture_draws_them_only_when_asked(tmp_path):
    from models.data import load_capture
    from studio.capture import capture_wild

    seed = next(s for s in range(2, 100) if sample(s) is not None)
    a = load_capture(capture_wild(seed, "office", 3, tmp_path / "a", size=(192, 144)))
    b = load_capture(capture_wild(seed, "office", 3, tmp_path / "b", size=(192, 144), accessories=True))
    assert a.manifest["glasses"] is None and b.manifest["glasses"] == sample(seed).colour_name
    diff = np.abs(a.video_frames().astype(np.int16) - b.video_frames().astype(np.int16)).max(-1)
    assert (diff > 40).sum() > 50


def test_facial_hair_and_makeup_are_deterministic_and_paint_their_regions():
    from studio.capture import accessorize, make_stage
    from studio.grooming import P_HAIR, _masks
    from studio.grooming import sample as groom
    from studio.texture import texel_positions

    gs = [groom(s) for s in range(300)]
    assert abs(np.mean([g.hair is not None for g in gs]) - P_HAIR) < 0.1 and groom(7) == gs[7]
    assert {g.hair for g in gs} >= {None, "stubble", "moustache", "goatee", "beard"}
    beard = next(s for s in range(2, 200) if gs[s].hair == "beard" and gs[s].lipstick is None)
    red = next(s for s in range(2, 200) if gs[s].lipstick == "red" and gs[s].hair is None)
    for seed, region in ((beard, "chin"), (red, "lips")):
        st = make_stage(seed, 128)
        plain = st.albedo.copy()
        accessorize(st, True)
        m = _masks(texel_positions(st.person.topology, 128)[0])
        d = np.abs(st.albedo - plain).sum(-1)
        assert d[m[region] > 0.9].mean() > 0.05
        if seed == beard:  # the beard leaves the forehead and the eyes alone
            assert d[m["shadow"] + m["liner"] > 0.5].max() < 1e-6
        else:  # lipstick reddens the lips
            lips = m["lips"] > 0.9

            def redness(a, lips=lips):
                return (a[lips, 0] - a[lips, 1:].mean(-1)).mean()

            assert redness(st.albedo) > redness(plain)
    st = make_stage(beard, 64)
    before = st.albedo.copy()
    accessorize(st, False)
    assert np.array_equal(st.albedo, before)
