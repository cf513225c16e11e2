"""First-level designs, OLS/AR(1) fits and fixed effects compared with nilearn 0.14.

Seeded synthetic runs on an 8 x 8 x 6 grid, 120 scans, with known effects and AR(1) noise.
nilearn is fitted on *our* design frame with ``signal_scaling=False`` (nilearn's default
converts to percent signal change; glmreport does not scale), no smoothing, and the same mask.

Tolerances (what is asserted; the observed differences are far smaller, ~1e-14 for designs
and ~1e-11 for z):

- design matrices: max |difference| <= 1e-8, identical column names and order;
- OLS z maps: max |dz| <= 1e-4;
- AR(1) z maps: max |dz| <= 0.05 and correlation >= 0.999;
- two-run fixed effects: as AR(1) z.
"""

from __future__ import annotations

import itertools
import warnings

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

nilearn = pytest.importorskip("nilearn")
from nilearn.glm.contrasts import compute_fixed_effects  # noqa: E402
from nilearn.glm.first_level import (  # noqa: E402
    FirstLevelModel,
    make_first_level_design_matrix,
)
from nilearn.masking import compute_epi_mask as nilearn_epi_mask  # noqa: E402

from glmreport.glm.ar1 import fit_first_level  # noqa: E402
from glmreport.glm.contrasts import compute_contrast  # noqa: E402
from glmreport.glm.first_level import make_first_level_design, make_frame_times  # noqa: E402
from glmreport.glm.fixed_effects import fixed_effects  # noqa: E402
from glmreport.inputs.masking import compute_epi_mask  # noqa: E402

SHAPE, N_SCANS, T_R = (8, 8, 6), 120, 2.0
HRFS = [
    "spm",
    "glover",
    "spm + derivative",
    "glover + derivative",
    "spm + derivative + dispersion",
    "glover + derivative + dispersion",
    "fir",
    None,
]
DRIFTS = [
    {"drift_model": "cosine", "high_pass": 0.01},
    {"drift_model": "cosine", "high_pass": 0.025},
    {"drift_model": "polynomial", "drift_order": 2},
    {"drift_model": "polynomial", "drift_order": 0},
    {"drift_model": None},
]


def _quiet(func, *args, **kwargs):
    """Call a nilearn function with its informational warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func(*args, **kwargs)


def _events(rng, n_events=30, span=N_SCANS * T_R - 10):
    ev = pd.DataFrame(
        {
            "onset": np.sort(rng.uniform(-5, span, n_events)).round(2),
            "duration": rng.choice([0.0, 1.0, 3.5, 12.0], n_events),
            "trial_type": rng.choice(["house", "face", "tool"], n_events),
            "modulation": rng.normal(1.0, 0.3, n_events),
        }
    )
    return pd.concat([ev, ev.iloc[:2]], ignore_index=True)  # duplicated events are summed


@pytest.mark.parametrize("hrf_model", HRFS, ids=lambda h: str(h).replace(" + ", "+"))
def test_design_matrix_matches_nilearn(hrf_model):
    rng = np.random.default_rng(0)
    events = _events(rng)
    confounds = pd.DataFrame(rng.normal(size=(N_SCANS, 3)), columns=["trans_x", "rot_y", "csf"])
    worst = 0.0
    for drift, ref, conf, with_mod in itertools.product(
        DRIFTS, [0.0, 0.5, 1.0], [None, confounds], [True, False]
    ):
        ev = events if with_mod else events.drop(columns="modulation")
        ft = make_frame_times(N_SCANS, T_R, ref)
        kwargs = dict(hrf_model=hrf_model, fir_delays=[0, 1, 2, 5], **drift)
        theirs = _quiet(make_first_level_design_matrix, ft, ev, add_regs=conf, **kwargs)
        ours = make_first_level_design(ft, ev, confounds=conf, **kwargs)
        assert list(ours.columns) == list(theirs.columns), (drift, ref)
        diff = np.abs(ours.matrix - theirs.to_numpy()).max()
        worst = max(worst, diff)
        assert diff <= 1e-8, (drift, ref, conf is not None, with_mod, diff)
    assert worst <= 1e-8


def test_design_other_t_r_and_oversampling():
    rng = np.random.default_rng(1)
    ev = _events(rng, span=80 * 0.8 - 5)
    for t_r, over in [(0.8, 50), (2.5, 16), (1.0, 1)]:
        ft = make_frame_times(80, t_r, 0.3)
        for hrf in ["glover + derivative", "fir"]:
            kwargs = dict(hrf_model=hrf, fir_delays=[0, 3], oversampling=over)
            theirs = _quiet(make_first_level_design_matrix, ft, ev, **kwargs)
            ours = make_first_level_design(ft, ev, **kwargs)
            assert list(ours.columns) == list(theirs.columns)
            np.testing.assert_allclose(ours.matrix, theirs.to_numpy(), rtol=0, atol=1e-8)


def _simulate_run(rng, design, mask, ar_max=0.6, noise_sd=3.0):
    """BOLD data (n, v) for in-mask voxels with a 'face' effect in a block of voxels."""
    v = int(mask.sum())
    p = design.shape[1]
    betas = np.zeros((p, v))
    cols = list(design.columns)
    betas[cols.index("face")] = np.where(np.arange(v) % 3 == 0, 10.0, 0.0)
    betas[cols.index("house")] = rng.normal(1.0, 1.0, v)
    betas[cols.index("constant")] = 800.0
    phi = rng.uniform(0.0, ar_max, v)
    eps = rng.normal(size=(N_SCANS, v)) * noise_sd
    noise = np.empty_like(eps)
    noise[0] = eps[0]
    for t in range(1, N_SCANS):
        noise[t] = phi * noise[t - 1] + eps[t]
    return design.matrix @ betas + noise


def _to_img(y, mask):
    vol = np.zeros((*mask.shape, y.shape[0]))
    vol[mask] = y.T
    return nib.Nifti1Image(vol, np.diag([3.0, 3.0, 3.0, 1.0]))


def _mask():
    mask = np.ones(SHAPE, bool)
    mask[0, 0, :] = False  # a non-trivial mask
    mask[-1, :, 0] = False
    return mask


def _contrasts(columns):
    eye = np.eye(len(columns))
    c = {k: eye[columns.index(k)] for k in ("face", "house", "tool")}
    return {
        "t": (c["face"] - c["house"])[None],
        "F": np.stack([c["face"], c["house"], c["tool"]]),
    }


def _design(rng, ref=0.5):
    ft = make_frame_times(N_SCANS, T_R, ref)
    ev = pd.DataFrame(
        {
            "onset": np.arange(6.0, N_SCANS * T_R - 20, 12.0),
            "duration": 4.0,
            "trial_type": (["face", "house", "tool"] * 20)[: len(np.arange(6.0, 220, 12.0))],
        }
    )
    conf = pd.DataFrame({"motion": rng.normal(size=N_SCANS).cumsum() * 0.1})
    return make_first_level_design(ft, ev, hrf_model="spm + derivative", confounds=conf)


def _nilearn_fit(imgs, designs, mask, noise_model):
    model = FirstLevelModel(
        t_r=T_R,
        noise_model=noise_model,
        mask_img=nib.Nifti1Image(mask.astype(np.uint8), np.diag([3.0, 3.0, 3.0, 1.0])),
        smoothing_fwhm=None,
        signal_scaling=False,
        minimize_memory=False,
        drift_model=None,
    )
    return _quiet(model.fit, imgs, design_matrices=[d.to_frame() for d in designs])


@pytest.mark.parametrize("noise_model", ["ols", "ar1"])
def test_single_run_z_maps_match_nilearn(noise_model):
    rng = np.random.default_rng(2)
    mask = _mask()
    design = _design(rng)
    y = _simulate_run(rng, design, mask)
    model = _nilearn_fit(_to_img(y, mask), [design], mask, noise_model)
    fit = fit_first_level(y.astype(np.float32), design, noise_model=noise_model, chunk_size=50)
    ref_fit = fit_first_level(y, design, noise_model=noise_model)
    for stat_type, weights in _contrasts(list(design.columns)).items():
        ref = _quiet(
            model.compute_contrast,
            weights[0] if stat_type == "t" else weights,
            stat_type=stat_type,
            output_type="z_score",
        )
        z_ref = ref.get_fdata()[mask]
        # float64 input: the tolerance of the issue
        z64 = compute_contrast(ref_fit, weights, name="c", label="c", stat_type=stat_type).z
        dz = np.abs(z64 - z_ref)
        if noise_model == "ols":
            assert dz.max() <= 1e-4
        else:
            assert dz.max() <= 0.05
            assert np.corrcoef(z64, z_ref)[0, 1] >= 0.999
            assert np.mean(dz <= 1e-6) >= 0.99  # same AR bins almost everywhere
        # float32 input (as read from a BOLD file) stays within the AR(1) tolerance
        z32 = compute_contrast(fit, weights, name="c", label="c", stat_type=stat_type).z
        assert np.abs(z32 - z_ref).max() <= 0.05
        assert np.corrcoef(z32, z_ref)[0, 1] >= 0.999
    # the simulated effect is found
    z_face = compute_contrast(
        ref_fit,
        np.eye(design.shape[1])[[list(design.columns).index("face")]],
        name="face",
        label="face",
        stat_type="t",
    ).z
    effect_voxels = np.arange(int(mask.sum())) % 3 == 0
    assert np.mean(z_face[effect_voxels] > 3.1) > 0.9
    assert np.mean(z_face[~effect_voxels] > 3.1) < 0.01


def test_two_run_fixed_effects_match_nilearn():
    rng = np.random.default_rng(3)
    mask = _mask()
    designs = [_design(rng, ref=0.5), _design(rng, ref=0.5)]
    ys = [
        _simulate_run(rng, d, mask, noise_sd=sd) for d, sd in zip(designs, (2.0, 4.0), strict=True)
    ]
    imgs = [_to_img(y, mask) for y in ys]
    model = _nilearn_fit(imgs, designs, mask, "ar1")
    weights = _contrasts(list(designs[0].columns))["t"]
    per_run = [
        compute_contrast(fit_first_level(y, d), weights, name="c", label="c", stat_type="t")
        for y, d in zip(ys, designs, strict=True)
    ]
    # nilearn FirstLevelModel over two runs: mean effect, summed variance / 4, summed dof
    z_ref = _quiet(model.compute_contrast, weights[0], output_type="z_score").get_fdata()[mask]
    plain = fixed_effects(per_run, name="c", label="c", precision_weighted=False)
    dz = np.abs(plain.z - z_ref)
    assert dz.max() <= 0.05 and np.corrcoef(plain.z, z_ref)[0, 1] >= 0.999
    assert plain.dof == 2 * (N_SCANS - designs[0].shape[1])
    # precision-weighted: nilearn compute_fixed_effects on nilearn's per-run maps
    mask_img = nib.Nifti1Image(mask.astype(np.uint8), np.diag([3.0, 3.0, 3.0, 1.0]))
    maps = [
        _quiet(
            _nilearn_fit([img], [d], mask, "ar1").compute_contrast, weights[0], output_type="all"
        )
        for img, d in zip(imgs, designs, strict=True)
    ]
    effect, variance, _, z = _quiet(
        compute_fixed_effects,
        [m["effect_size"] for m in maps],
        [m["effect_variance"] for m in maps],
        mask=mask_img,
        precision_weighted=True,
        dofs=[r.dof for r in per_run],
    )
    weighted = fixed_effects(per_run, name="c", label="c")
    z_ref = z.get_fdata()[mask]
    assert np.abs(weighted.z - z_ref).max() <= 0.05
    assert np.corrcoef(weighted.z, z_ref)[0, 1] >= 0.999
    np.testing.assert_allclose(weighted.effect[0], effect.get_fdata()[mask], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(
        weighted.variance[0, 0], variance.get_fdata()[mask], rtol=1e-6, atol=1e-10
    )


def test_epi_mask_agrees_with_nilearn():
    rng = np.random.default_rng(4)
    shape = (24, 28, 20)
    ii, jj, kk = np.meshgrid(*[np.arange(s) for s in shape], indexing="ij")
    r = ((ii - 11.5) / 9) ** 2 + ((jj - 13.5) / 11) ** 2 + ((kk - 9.5) / 7) ** 2
    brain = r <= 1
    mean = rng.normal(20.0, 5.0, shape)
    mean[brain] = rng.normal(600.0, 40.0, brain.sum())
    img = nib.Nifti1Image(mean[..., None].repeat(3, axis=-1), np.diag([3.0, 3.0, 3.0, 1.0]))
    theirs = _quiet(nilearn_epi_mask, img).get_fdata() > 0
    ours = compute_epi_mask(mean)
    dice = 2 * (ours & theirs).sum() / (ours.sum() + theirs.sum())
    assert dice >= 0.97
    assert 2 * (ours & brain).sum() / (ours.sum() + brain.sum()) >= 0.97
