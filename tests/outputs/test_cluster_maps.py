"""Cluster index maps: written for every correction that forms clusters, listed as
``cluster_map`` in the summary, and their voxel counts equal the tables' cluster sizes."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from scipy import ndimage

from glmreport.cli import main
from glmreport.outputs.layout import sidecar_name
from glmreport.outputs.summary import read_summary

SHAPE = (16, 16, 12)
AFFINE = np.diag([3.0, 3.0, 3.0, 1.0])


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """A two-sided run of every clustering method on maps with a positive and a negative blob."""
    root = tmp_path_factory.mktemp("clustermaps")
    rng = np.random.default_rng(5)
    signal = np.zeros(SHAPE)
    signal[4, 4, 4], signal[11, 11, 7] = 1.0, -1.0
    signal = ndimage.gaussian_filter(signal, 1.2)
    signal *= 1.5 / np.abs(signal).max()
    rows = ["path"]
    for i in range(12):
        noise = ndimage.gaussian_filter(rng.standard_normal(SHAPE), 0.8)
        data = (noise / noise.std() + signal).astype(np.float32)
        nib.save(nib.Nifti1Image(data, AFFINE), root / f"s{i:02d}.nii.gz")
        rows.append(f"s{i:02d}.nii.gz")
    (root / "inputs.tsv").write_text("\n".join(rows) + "\n")
    (root / "analysis.yaml").write_text(
        "model: {inputs: inputs.tsv}\n"
        "contrasts: [{name: effect, t: intercept}]\n"
        "two_sided: true\n"
        "corrections:\n"
        "  - {method: uncorrected, alpha: 0.01}\n"
        "  - {method: fdr}\n"
        "  - {method: bonferroni}\n"
        "  - {method: permutation, n_perm: 100, seed: 1, cluster_forming_p: 0.01, tfce: true}\n"
        "  - {method: ari, thresholds: [2.0, 3.0]}\n"
        "  - {method: rft, cluster_forming_p: 0.01}\n"
        "  - {method: rft, fwhm_mm: 5, svc: {sphere: {center_mm: [12, 12, 12], radius_mm: 9}}}\n"
        "report: {formats: []}\n"
    )
    out = root / "results"
    assert main(["run", str(root / "analysis.yaml"), "--out", str(out), "-q"]) == 0
    return out


def counts(volume: np.ndarray) -> dict[int, int]:
    values, n = np.unique(volume[volume != 0], return_counts=True)
    return dict(zip(values.tolist(), n.tolist(), strict=True))


def test_index_map_counts_equal_the_table_sizes(results):
    summary = read_summary(results)
    (contrast,) = summary.contrasts
    routes = {k.route for k in contrast.corrections}
    assert routes == {
        "uncorrected", "fdr", "bonferroni", "permMaxT", "permClusterSize", "permClusterMass",
        "permTFCE", "ari", "rft", "rftCluster", "rftSVC", "rftClusterSVC",
    }  # fmt: skip
    negatives = 0
    for k in contrast.corrections:
        assert k.cluster_map is not None, k.desc
        image = nib.load(results / k.cluster_map)
        assert image.get_data_dtype() == np.int32
        volume = np.asarray(image.dataobj)
        table = pd.read_csv(results / k.clusters_table, sep="\t")
        want = {
            int(row.cluster_id) * (-1 if row.sign == "-" else 1): int(row.size_voxels)
            for row in table.itertuples()
        }
        if k.method == "ari":  # one volume per threshold, clusters numbered on through the table
            assert volume.shape == (*SHAPE, 2)
            found: dict[int, int] = {}
            for j, threshold in enumerate((2.0, 3.0)):
                part = counts(volume[..., j])
                rows = table[table["threshold_z"] == threshold]
                assert {abs(i) for i in part} == set(rows["cluster_id"]), threshold
                found.update(part)
        else:
            assert volume.shape == SHAPE
            found = counts(volume)
        assert found == want, k.desc
        assert len(want) == k.n_clusters
        negatives += sum(1 for i in want if i < 0)
        # surviving voxels and clustered voxels coincide (ARI: its lowest threshold)
        survivors = np.asarray(nib.load(results / k.map).dataobj) != 0
        first = volume[..., 0] if volume.ndim == 4 else volume
        if k.method != "ari":
            np.testing.assert_array_equal(first != 0, survivors)
        sidecar = json.loads((results / sidecar_name(k.cluster_map)).read_text())
        assert sidecar["ClustersTable"] == k.clusters_table
        assert sidecar["Statistic"] == "clusterIndex"
        assert sidecar["Correction"]["Desc"] == k.desc
    assert negatives >= 5  # the negative blob is found, with negative numbers, by most methods
    assert any(k.n_clusters for k in contrast.corrections if k.route == "rftSVC")


def test_index_maps_lie_in_the_mask_and_signs_match_the_z_map(results):
    summary = read_summary(results)
    (contrast,) = summary.contrasts
    mask = np.asarray(nib.load(results / summary.mask).dataobj) > 0
    z = np.asarray(nib.load(results / contrast.maps.z).dataobj)
    for k in contrast.corrections:
        volume = np.asarray(nib.load(results / k.cluster_map).dataobj)
        first = volume[..., 0] if volume.ndim == 4 else volume
        assert not first[~mask].any()
        assert np.all(z[first > 0] > 0) and np.all(z[first < 0] < 0), k.desc
