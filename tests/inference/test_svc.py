"""Small-volume correction: an entry with ``svc`` equals the same correction run with the
region as the analysis mask (issue 14).

RFT: equal to 1e-6 in every threshold with ``fwhm_mm`` given. With the smoothness estimated,
SVC takes it from the residuals of the whole analysis mask (as SPM) while a run masked to the
region estimates it from the region alone; SVC then equals the masked run given the whole
mask's estimate as ``fwhm_mm``. Permutation: the same resamples (same seed) give the same null
maxima, so every critical value agrees.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from glmreport.config.load import parse_config
from glmreport.errors import ConfigError, InferenceError
from glmreport.inference.context import InferenceContext
from glmreport.inference.svc import apply_svc, restrict_contrast
from glmreport.inputs.regions import sphere_mask
from glmreport.pipeline.infer import infer
from glmreport.pipeline.run import prepare, validate

SHAPE = (18, 18, 14)
AFFINE = np.diag([3.0, 3.0, 3.0, 1.0])
AFFINE[:3, 3] = [-27.0, -27.0, -21.0]
CENTRE = (0.0, 0.0, 0.0)  # voxel (9, 9, 7)
RADIUS = 10.0


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """14 smooth noise maps with a positive blob at the sphere's centre."""
    root = tmp_path_factory.mktemp("svc")
    rng = np.random.default_rng(3)
    blob = np.zeros(SHAPE)
    blob[9, 9, 7] = 1.0
    blob = ndimage.gaussian_filter(blob, 1.5)
    blob *= 1.2 / blob.max()
    rows = ["path"]
    for i in range(14):
        noise = ndimage.gaussian_filter(rng.standard_normal(SHAPE), 1.0)
        data = (noise / noise.std() + blob).astype(np.float32)
        nib.save(nib.Nifti1Image(data, AFFINE), root / f"s{i:02d}.nii.gz")
        rows.append(f"s{i:02d}.nii.gz")
    (root / "inputs.tsv").write_text("\n".join(rows) + "\n")
    region = sphere_mask(CENTRE, RADIUS, SHAPE, AFFINE)
    nib.save(nib.Nifti1Image(region.astype(np.uint8), AFFINE), root / "region.nii.gz")
    return root


SPHERE = f"{{sphere: {{center_mm: [0, 0, 0], radius_mm: {RADIUS}}}}}"


def run(folder, corrections: str, *, mask: str = "auto"):
    text = (
        f"model: {{inputs: inputs.tsv, mask: {mask}}}\n"
        "contrasts: [{name: effect, t: intercept}]\n"
        f"corrections: {corrections}\n"
    )
    config = parse_config(text, base_dir=folder)
    prepared = prepare(config)
    ((_, results),) = infer(config, prepared)
    return {r.desc: r for r in results}, prepared


def same_thresholds(svc, masked, keys=()):
    assert svc.threshold_stat == pytest.approx(masked.threshold_stat, abs=1e-6)
    assert svc.threshold_z == pytest.approx(masked.threshold_z, abs=1e-6)
    for key in keys:
        assert svc.extras[key] == pytest.approx(masked.extras[key], abs=1e-6), key


def inside(result, prepared_whole, prepared_region):
    """``result.surviving`` (whole mask) at the region's voxels, in the region run's order."""
    full = prepared_whole.masker.inverse(result.surviving)
    return full[prepared_region.masker.mask]


RFT_KEYS = ("fwe_p_stat", "height_threshold_p_fwe", "expected_number_of_clusters", "fwe_c_voxels")


@pytest.mark.parametrize("region", ["sphere", "mask"])
def test_rft_svc_equals_the_region_as_mask_with_fwhm_given(folder, region):
    svc = SPHERE if region == "sphere" else "{mask: region.nii.gz}"
    common = "cluster_forming_p: 0.01, fwhm_mm: 6"
    whole, prepared = run(folder, f"[{{method: rft, {common}, svc: {svc}}}]")
    masked, prepared_region = run(folder, f"[{{method: rft, {common}}}]", mask="region.nii.gz")
    assert set(whole) == {"rftSVC", "rftClusterSVC"}
    for route in ("rft", "rftCluster"):
        got, want = whole[route + "SVC"], masked[route]
        assert got.route == route + "SVC" and got.method == "rft"
        same_thresholds(got, want, RFT_KEYS if route == "rft" else ("fwe_c_voxels",))
        np.testing.assert_allclose(got.extras["resels"], want.extras["resels"], rtol=1e-12)
        assert got.extras["svc_voxels"] == prepared_region.masker.n_voxels == 171
        assert got.extras["volume_voxels"] == want.extras["volume_voxels"]
        np.testing.assert_array_equal(inside(got, prepared, prepared_region), want.surviving)
        outside = prepared.masker.inverse(got.surviving) & ~prepared_region.masker.mask
        assert not outside.any()
        assert got.clusters["size_voxels"].tolist() == want.clusters["size_voxels"].tolist()
    assert whole["rftSVC"].surviving.sum() > 0  # the blob is found in the region
    # the region's threshold is lower than the whole mask's (fewer resels)
    brain, _ = run(folder, f"[{{method: rft, {common}}}]")
    assert whole["rftSVC"].threshold_stat < brain["rft"].threshold_stat - 0.5


def test_rft_svc_with_estimated_smoothness_uses_the_whole_mask(folder):
    whole, _ = run(folder, f"[{{method: rft, desc: brain}}, {{method: rft, svc: {SPHERE}}}]")
    brain, svc = whole["brain"], whole["rftSVC"]
    assert svc.extras["smoothness_source"] == "residuals"
    assert "whole analysis mask" in svc.extras["svc_smoothness"]
    np.testing.assert_allclose(svc.extras["fwhm_mm"], brain.extras["fwhm_mm"], rtol=1e-12)
    fwhm = ", ".join(f"{v!r}" for v in brain.extras["fwhm_mm"])
    given, _ = run(folder, f"[{{method: rft, fwhm_mm: [{fwhm}]}}]", mask="region.nii.gz")
    same_thresholds(svc, given["rft"], RFT_KEYS)
    estimated, _ = run(folder, "[{method: rft}]", mask="region.nii.gz")
    # the region's own estimate differs: masking is not SVC when the smoothness is estimated
    assert estimated["rft"].extras["fwhm_mm"] != pytest.approx(brain.extras["fwhm_mm"], rel=1e-3)


def test_permutation_svc_equals_the_region_as_mask(folder):
    common = "n_perm: 200, seed: 7, cluster_forming_p: 0.01, tfce: true"
    whole, prepared = run(folder, f"[{{method: permutation, {common}, svc: {SPHERE}}}]")
    masked, prepared_region = run(
        folder, f"[{{method: permutation, {common}}}]", mask="region.nii.gz"
    )
    assert set(whole) == {f"perm{r}SVC" for r in ("MaxT", "ClusterSize", "ClusterMass", "TFCE")}
    for route in ("MaxT", "ClusterSize", "ClusterMass", "TFCE"):
        got, want = whole[f"perm{route}SVC"], masked[f"perm{route}"]
        assert got.extras["critical_value"] == pytest.approx(
            want.extras["critical_value"], abs=1e-6
        )
        np.testing.assert_allclose(got.arrays["null"], want.arrays["null"], rtol=1e-6)
        np.testing.assert_array_equal(inside(got, prepared, prepared_region), want.surviving)
        if got.threshold_stat is not None:
            same_thresholds(got, want)
        for key, values in got.maps.items():
            full = prepared.masker.inverse(values, fill=np.nan)
            outside = ~prepared_region.masker.mask & prepared.masker.mask
            assert np.all(np.isnan(full[outside])), key
            np.testing.assert_allclose(full[prepared_region.masker.mask], want.maps[key], rtol=1e-6)
    assert whole["permMaxTSVC"].surviving.sum() > 0


@pytest.mark.parametrize(
    ("svc", "message"),
    [
        ("{sphere: {center_mm: [300, 0, 0], radius_mm: 5}}", "contains no voxel of the data grid"),
        ("{mask: empty.nii.gz}", "contains no voxel"),
        ("{mask: missing.nii.gz}", "small-volume mask"),
    ],
)
def test_an_empty_region_is_refused_naming_the_entry(folder, svc, message):
    nib.save(nib.Nifti1Image(np.zeros(SHAPE, np.uint8), AFFINE), folder / "empty.nii.gz")
    text = (
        "model: {inputs: inputs.tsv}\ncontrasts: [{name: effect, t: intercept}]\n"
        f"corrections: [{{method: uncorrected}}, {{method: rft, fwhm_mm: 6, svc: {svc}}}]\n"
    )
    config = parse_config(text, base_dir=folder)
    with pytest.raises(ConfigError, match=message) as info:
        validate(config)
    assert "corrections[1].svc" in str(info.value)


def test_a_region_outside_the_analysis_mask_is_refused(folder):
    corner = np.zeros(SHAPE, np.uint8)
    corner[:3, :3, :3] = 1
    nib.save(nib.Nifti1Image(corner, AFFINE), folder / "corner.nii.gz")
    text = (
        "model: {inputs: inputs.tsv, mask: region.nii.gz}\n"
        "contrasts: [{name: effect, t: intercept}]\n"
        "corrections: [{method: rft, fwhm_mm: 6, svc: {mask: corner.nii.gz}}]\n"
    )
    with pytest.raises(ConfigError, match="outside the analysis mask") as info:
        validate(parse_config(text, base_dir=folder))
    assert "corrections[0].svc" in str(info.value)


def test_apply_svc_needs_its_region():
    ctx = InferenceContext(mask=np.ones((2, 2, 2), bool), affine=np.eye(4))
    config = parse_config(
        "model: {inputs: [a.nii]}\ncontrasts: [{name: c, t: intercept}]\n"
        "corrections: [{method: rft, fwhm_mm: 6, svc: {sphere: {center_mm: [0, 0, 0], "
        "radius_mm: 2}}}]\n",
        base_dir=__import__("pathlib").Path("."),
    )
    with pytest.raises(InferenceError, match="no small volume"):
        apply_svc(None, config.corrections[0], ctx)  # type: ignore[arg-type]


def test_restrict_contrast_keeps_the_weights():
    from glmreport.glm.results import ContrastResult

    v = 5
    c = ContrastResult(
        name="c",
        label="c",
        stat_type="t",
        weights=np.ones((1, v)),
        columns=tuple("abcde"),
        effect=np.arange(v, dtype=float)[None],
        variance=np.ones((1, 1, v)),
        stat=np.arange(v, dtype=float),
        p=np.full(v, 0.5),
        z=np.arange(v, dtype=float),
        dof=3.0,
    )
    keep = np.array([True, False, True, False, False])
    sub = restrict_contrast(c, keep)
    assert sub.weights.shape == (1, v)
    np.testing.assert_array_equal(sub.z, [0.0, 2.0])
    assert sub.variance.shape == (1, 1, 2) and sub.effect.shape == (1, 2)
