"""Conjunctions: the minimum statistic of t contrasts (Nichols et al. 2005)."""

from __future__ import annotations

import dataclasses

import nibabel as nib
import numpy as np
import pytest
from scipy import stats

from glmreport.cli import main
from glmreport.config.specs import ContrastSpec
from glmreport.errors import ContrastError
from glmreport.glm.conjunction import add_conjunctions, conjunction_contrast
from glmreport.glm.results import ContrastResult
from glmreport.outputs.summary import read_summary


def t_contrast(
    name: str, stat: np.ndarray, dof: float = 10.0, columns=("a", "b")
) -> ContrastResult:
    stat = np.asarray(stat, dtype=float)
    p = stats.t.sf(stat, dof)
    return ContrastResult(
        name=name,
        label=name,
        stat_type="t",
        weights=np.array([[1.0, -1.0]]) if name == "A" else np.array([[0.0, 1.0]]),
        columns=columns,
        effect=stat[None] * 2,
        variance=np.full((1, 1, stat.size), 4.0),
        stat=stat,
        p=p,
        z=stats.norm.isf(p),
        dof=dof,
    )


def test_the_conjunction_is_the_minimum_of_its_components():
    a = t_contrast("A", [3.0, -1.0, 5.0, 2.0, np.nan])
    b = t_contrast("B", [4.0, 2.0, 1.0, 2.5, 1.0])
    c = conjunction_contrast([a, b], name="both", label="both")
    np.testing.assert_array_equal(c.z[:4], np.minimum(a.z, b.z)[:4])
    np.testing.assert_array_equal(c.p[:4], np.maximum(a.p, b.p)[:4])
    np.testing.assert_array_equal(c.stat[:4], [3.0, -1.0, 1.0, 2.0])
    assert np.isnan(c.z[4]) and np.isnan(c.p[4]) and np.isnan(c.stat[4])
    assert c.stat_type == "t" and c.dof == 10.0 and c.df_num == 1
    assert c.conjunction == ("A", "B")
    np.testing.assert_array_equal(c.weights, [[1.0, -1.0], [0.0, 1.0]])
    assert c.effect.shape == (2, 5) and c.variance.shape == (2, 2, 5)
    np.testing.assert_array_equal(c.variance[1, 1], b.variance[0, 0])
    assert np.isnan(c.variance[0, 1]).all()


def test_different_degrees_of_freedom_give_the_z_scale():
    a = t_contrast("A", [3.0, 1.0], dof=10.0)
    b = t_contrast("B", [3.0, 2.0], dof=40.0)
    c = conjunction_contrast([a, b], name="both", label="both")
    assert c.dof == np.inf
    np.testing.assert_allclose(c.stat, np.minimum(a.z, b.z))
    # the same t is weaker evidence with fewer dof: A's z is the minimum at voxel 0
    assert c.z[0] == a.z[0] < b.z[0]


def test_bad_components_are_refused():
    a = t_contrast("A", [1.0, 2.0])
    with pytest.raises(ContrastError, match="at least two"):
        conjunction_contrast([a], name="x", label="x")
    f = dataclasses.replace(t_contrast("F", [1.0, 2.0]), stat_type="F")
    with pytest.raises(ContrastError, match="not a t contrast"):
        conjunction_contrast([a, f], name="x", label="x")
    other = t_contrast("B", [1.0, 2.0], columns=("a", "c"))
    with pytest.raises(ContrastError, match="same voxels and design columns"):
        conjunction_contrast([a, other], name="x", label="x")


def test_add_conjunctions_appends_them_with_unique_labels():
    a, b = t_contrast("A", [1.0, 2.0]), t_contrast("B", [2.0, 1.0])
    specs = [
        ContrastSpec(name="A", stat_type="t", definition="a"),
        ContrastSpec(name="A and B", stat_type="t", definition=["A", "B"], conjunction=("A", "B")),
        ContrastSpec(name="B", stat_type="t", definition="b"),
    ]
    a = dataclasses.replace(a, label="aAndB")  # a label the conjunction would take
    out = add_conjunctions(specs, [a, b])
    assert [c.name for c in out] == ["A", "B", "A and B"]
    assert out[2].label != "aAndB" and out[2].label.startswith("aAndB")
    missing = ContrastSpec(
        name="x", stat_type="t", definition=["A", "C"], conjunction=("A", "C"), where="contrasts[3]"
    )
    with pytest.raises(ContrastError, match="contrasts\\[3\\].*'C'"):
        add_conjunctions([missing], [a, b])


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """A two-condition paired design with a conjunction of two t contrasts."""
    root = tmp_path_factory.mktemp("conj")
    rng = np.random.default_rng(2)
    rows = ["path\tsub\tcond"]
    for s in range(10):
        for cond, shift in (("a", 0.8), ("b", 0.3)):
            data = (rng.standard_normal((8, 8, 6)) + shift).astype(np.float32)
            data[:4] += 1.0
            name = f"s{s}_{cond}.nii.gz"
            nib.save(nib.Nifti1Image(data, np.diag([3.0, 3.0, 3.0, 1.0])), root / name)
            rows.append(f"{name}\t{s}\t{cond}")
    (root / "inputs.tsv").write_text("\n".join(rows) + "\n")
    (root / "analysis.yaml").write_text(
        "model: {inputs: inputs.tsv, design: {formula: 'C(cond)'}}\n"
        "contrasts:\n"
        "  - {name: mean, t: 'Intercept'}\n"
        "  - {name: b over a, t: 'C(cond)[T.b]'}\n"
        "  - {name: a over b, t: '-C(cond)[T.b]'}\n"
        "  - {name: both, conjunction: [mean, a over b]}\n"
        "two_sided: true\n"
        "corrections: [{method: uncorrected, alpha: 0.01}, {method: fdr}, {method: bonferroni},"
        " {method: rft, fwhm_mm: 6}]\n"
        "report: {formats: []}\n"
    )
    out = root / "results"
    assert main(["run", str(root / "analysis.yaml"), "--out", str(out), "-q"]) == 0
    return out


def load(folder, rel) -> np.ndarray:
    return np.asarray(nib.load(folder / rel).dataobj, dtype=np.float64)


def test_the_written_conjunction_map_is_the_minimum_of_its_components(results):
    summary = read_summary(results)
    by_name = {c.name: c for c in summary.contrasts}
    both = by_name["both"]
    assert both.conjunction == ("mean", "a over b") and both.stat_type == "t"
    assert both.maps.effect is None and both.maps.variance is None
    mask = load(results, summary.mask) > 0
    z = [load(results, by_name[n].maps.z)[mask] for n in both.conjunction]
    np.testing.assert_array_equal(load(results, both.maps.z)[mask], np.minimum(*z))
    p = [load(results, by_name[n].maps.p)[mask] for n in both.conjunction]
    np.testing.assert_array_equal(load(results, both.maps.p)[mask], np.maximum(*p))
    t = [load(results, by_name[n].maps.stat)[mask] for n in both.conjunction]
    np.testing.assert_array_equal(load(results, both.maps.stat)[mask], np.minimum(*t))
    assert [list(w) for w in both.weights] == [
        list(by_name[n].weights[0]) for n in both.conjunction
    ]


def test_conjunction_corrections_are_one_sided_with_the_components_thresholds(results):
    summary = read_summary(results)
    by_name = {c.name: c for c in summary.contrasts}
    both, mean = by_name["both"], by_name["mean"]
    found = {k.desc: k for k in both.corrections}
    assert set(found) == {"uncorrected", "fdr", "bonferroni", "rft", "rftCluster"}
    for k in both.corrections:
        assert not k.two_sided and k.params["two_sided_ignored"] == "conjunction"
    # one-sided thresholds of a single component (the conjunction null)
    assert found["uncorrected"].threshold_z == pytest.approx(stats.norm.isf(0.01))
    n = int(load(results, summary.mask).sum())
    assert found["bonferroni"].threshold_z == pytest.approx(stats.norm.isf(0.05 / n))
    # RFT: the same threshold as a one-sided test of one component's t field
    assert both.dof == mean.dof
    assert (
        found["rft"].extras["resels"]
        == next(k for k in mean.corrections if k.desc == "rft").extras["resels"]
    )
    # FDR on the conjunction's p (the largest of the components' p)
    p = np.sort(load(results, both.maps.p)[load(results, summary.mask) > 0])
    m = p.size
    below = np.flatnonzero(p <= 0.05 * np.arange(1, m + 1) / m)
    survivors = below.max() + 1 if below.size else 0
    assert found["fdr"].n_voxels == survivors > 0
    z = load(results, both.maps.z)
    thresholded = load(results, found["uncorrected"].map)
    np.testing.assert_array_equal(thresholded != 0, z >= stats.norm.isf(0.01))
