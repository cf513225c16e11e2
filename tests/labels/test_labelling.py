"""Peak labels, cluster composition and the labelled tables."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from fixtures.synthetic_templateflow import HOCPA, HOCPA_TSV

from glmreport.config.atlas_registry import registry_spec
from glmreport.config.specs import AtlasSpec
from glmreport.errors import AtlasError
from glmreport.inference.results import CLUSTER_COLUMNS, PEAK_COLUMNS
from glmreport.labels import (
    NO_LABEL,
    NO_VOXELS,
    UNAVAILABLE,
    label_tables,
    load_atlases,
)

MASK_2009 = "tpl-MNI152NLin2009cAsym/tpl-MNI152NLin2009cAsym_res-02_desc-brain_mask.nii.gz"


def _direct_lookup(home: Path, xyz: np.ndarray) -> list[str]:
    """Label of the HOCPA voxel nearest to each world point, read with nibabel."""
    img = nib.load(home / HOCPA)
    data = np.asanyarray(img.dataobj)
    table = pd.read_csv(home / HOCPA_TSV, sep="\t")
    names = dict(zip(table["index"], table["name"], strict=True))
    ijk = np.rint(nib.affines.apply_affine(np.linalg.inv(img.affine), xyz)).astype(int)
    out = []
    for i, j, k in ijk:
        inside = 0 <= i < data.shape[0] and 0 <= j < data.shape[1] and 0 <= k < data.shape[2]
        value = int(data[i, j, k]) if inside else 0
        out.append(names[value] if value else NO_LABEL)
    return out


def _tables(mask: np.ndarray, affine: np.ndarray, peak_ijk: np.ndarray, radius: int = 3):
    """Clusters = cubes around the first peaks; one peak row per point."""
    labels3d = np.zeros(mask.shape, dtype=int)
    cluster_rows = []
    for k, (i, j, l) in enumerate(peak_ijk[:3], start=1):
        cube = np.zeros(mask.shape, dtype=bool)
        cube[
            i - radius : i + radius + 1, j - radius : j + radius + 1, l - radius : l + radius + 1
        ] = 1
        cube &= mask & (labels3d == 0)
        labels3d[cube] = k
        x, y, z = nib.affines.apply_affine(affine, (i, j, l))
        cluster_rows.append((k, "+", int(cube.sum()), 8.0 * cube.sum(), x, y, z, 5.0, 6.0))
    clusters = pd.DataFrame(cluster_rows, columns=list(CLUSTER_COLUMNS))
    xyz = nib.affines.apply_affine(affine, peak_ijk)
    peaks = pd.DataFrame(
        {
            "cluster_id": [str(n) for n in range(1, len(xyz) + 1)],
            "peak_x": xyz[:, 0],
            "peak_y": xyz[:, 1],
            "peak_z": xyz[:, 2],
            "peak_value": 4.0,
            "peak_stat": 5.0,
            "size_voxels": 10,
            "volume_mm": 80.0,
        }
    )[list(PEAK_COLUMNS)]
    return clusters, peaks, labels3d[mask], labels3d


def _grid(home: Path) -> tuple[np.ndarray, np.ndarray]:
    img = nib.load(home / MASK_2009)
    return np.asanyarray(img.dataobj) > 0, img.affine


@pytest.fixture
def grid_2009(templateflow_home):
    return _grid(templateflow_home)


@pytest.fixture
def real_grid_2009(real_templateflow_home):
    return _grid(real_templateflow_home)


def test_peak_labels_equal_direct_lookup(templateflow_home, grid_2009):
    mask, affine = grid_2009
    rng = np.random.default_rng(20240611)
    inside = np.argwhere(mask)
    peak_ijk = inside[rng.choice(len(inside), size=60, replace=False)]
    clusters, peaks, labels, _ = _tables(mask, affine, peak_ijk)
    atlases = load_atlases([registry_spec("harvard-oxford-cortical")], data_space=None)
    out_clusters, out_peaks, notes = label_tables(
        clusters, peaks, labels, mask=mask, affine=affine, atlases=atlases
    )
    expected = _direct_lookup(templateflow_home, peaks[["peak_x", "peak_y", "peak_z"]].to_numpy())
    assert list(out_peaks["harvard-oxford-cortical"]) == expected
    assert sum(e != NO_LABEL for e in expected) >= 20  # the check covers real labels
    assert list(out_peaks.columns) == [*PEAK_COLUMNS, "harvard-oxford-cortical"]
    assert list(out_clusters.columns) == [*CLUSTER_COLUMNS, "harvard-oxford-cortical"]
    assert "harvard-oxford-cortical" not in peaks.columns  # inputs are not modified
    assert any("not stated" in note for note in notes)


def test_peak_at_known_coordinate(real_templateflow_home, real_grid_2009):
    mask, affine = real_grid_2009
    ijk = np.rint(nib.affines.apply_affine(np.linalg.inv(affine), [-40.0, -22.0, 56.0]))
    clusters, peaks, labels, _ = _tables(mask, affine, ijk.astype(int)[None])
    peaks.loc[0, ["peak_x", "peak_y", "peak_z"]] = (-40.0, -22.0, 56.0)
    atlases = load_atlases(
        [registry_spec("harvard-oxford-cortical")], data_space="MNI152NLin2009cAsym"
    )
    out_clusters, out_peaks, notes = label_tables(
        clusters, peaks, labels, mask=mask, affine=affine, atlases=atlases
    )
    assert out_peaks.loc[0, "harvard-oxford-cortical"] in {"Precentral Gyrus", "Postcentral Gyrus"}
    composition = out_clusters.loc[0, "harvard-oxford-cortical"]
    assert "Precentral Gyrus" in composition or "Postcentral Gyrus" in composition
    assert any("MNI152NLin6Asym" in n and "MNI152NLin2009cAsym" in n for n in notes)


def _composition(home: Path, mask, affine, labels3d, k, top_n=5):
    """Expected composition string of cluster k from a direct voxel-by-voxel lookup."""
    xyz = nib.affines.apply_affine(affine, np.argwhere(labels3d == k))
    names = pd.Series(_direct_lookup(home, xyz))
    counts = names.value_counts()
    n = len(names)
    named = sorted(
        ((c, name) for name, c in counts.items() if name != NO_LABEL), key=lambda t: (-t[0], t[1])
    )
    shown, rest = named[:top_n], named[top_n:]
    if NO_LABEL in counts:
        shown.append((counts[NO_LABEL], NO_LABEL))
    shown.sort(key=lambda t: -t[0])

    def pct(v):
        return "<1%" if 0 < v < 0.5 else f"{int(np.floor(v + 0.5))}%"

    parts = [f"{pct(100 * c / n)} {name}" for c, name in shown]
    if rest:
        noun = "label" if len(rest) == 1 else "labels"
        parts.append(f"{pct(100 * sum(c for c, _ in rest) / n)} other ({len(rest)} {noun})")
    return "; ".join(parts)


@pytest.mark.parametrize("top_n", [5, 2])
def test_cluster_composition_equals_direct_count(templateflow_home, grid_2009, top_n):
    mask, affine = grid_2009
    centres = [
        np.rint(nib.affines.apply_affine(np.linalg.inv(affine), xyz)).astype(int)
        for xyz in ([-40.0, -22.0, 56.0], [50.0, -60.0, 10.0], [0.0, 50.0, 0.0])
    ]
    clusters, peaks, labels, labels3d = _tables(mask, affine, np.array(centres), radius=4)
    atlases = load_atlases([registry_spec("harvard-oxford-cortical")], data_space=None)
    out_clusters, _, _ = label_tables(
        clusters, peaks, labels, mask=mask, affine=affine, atlases=atlases, top_n=top_n
    )
    for row, k in enumerate(clusters["cluster_id"]):
        expected = _composition(templateflow_home, mask, affine, labels3d, k, top_n)
        assert out_clusters.loc[row, "harvard-oxford-cortical"] == expected
    first = out_clusters.loc[0, "harvard-oxford-cortical"]
    # the cube around (-40, -22, 56) straddles the y = -20 cut between two regions
    assert first.count("%") >= 2 and "Region B" in first and "Region D" in first
    if top_n == 2:
        assert any("other (" in cell for cell in out_clusters["harvard-oxford-cortical"])


def test_missing_atlas_fills_column_and_notes(templateflow_home, grid_2009):
    mask, affine = grid_2009
    rng = np.random.default_rng(7)
    inside = np.argwhere(mask)
    clusters, peaks, labels, _ = _tables(mask, affine, inside[rng.choice(len(inside), 5)])
    atlases = load_atlases(
        [registry_spec("harvard-oxford-cortical"), registry_spec("schaefer-400-7")],
        data_space="MNI152NLin6Asym",
    )
    out_clusters, out_peaks, notes = label_tables(
        clusters, peaks, labels, mask=mask, affine=affine, atlases=atlases
    )
    assert (out_peaks["schaefer-400-7"] == UNAVAILABLE).all()
    assert (out_clusters["schaefer-400-7"] == UNAVAILABLE).all()
    assert out_peaks["harvard-oxford-cortical"].map(len).gt(0).all()
    assert out_clusters["harvard-oxford-cortical"].str.contains("%").all()
    assert any("glmreport atlases fetch schaefer-400-7" in note for note in notes)


def test_empty_tables_get_columns(templateflow_home, grid_2009):
    mask, affine = grid_2009
    clusters = pd.DataFrame(columns=list(CLUSTER_COLUMNS))
    peaks = pd.DataFrame(columns=list(PEAK_COLUMNS))
    atlases = load_atlases([registry_spec("harvard-oxford-cortical")], data_space=None)
    out_clusters, out_peaks, _ = label_tables(
        clusters,
        peaks,
        np.zeros(int(mask.sum()), int),
        mask=mask,
        affine=affine,
        atlases=atlases,
    )
    assert "harvard-oxford-cortical" in out_clusters.columns and len(out_clusters) == 0
    assert "harvard-oxford-cortical" in out_peaks.columns and len(out_peaks) == 0


def test_probabilistic_atlas_labels(tmp_path):
    # Atlas: 10^3 voxels of 2 mm; A ramps 0..90 % along x, C is a constant 3 %, B the rest.
    ramp = 10.0 * np.arange(10, dtype=float)[:, None, None] * np.ones((10, 10, 10))
    prob = np.stack([ramp, 97.0 - ramp, np.full_like(ramp, 3.0)], axis=-1)
    atlas_affine = np.diag([2.0, 2.0, 2.0, 1.0])
    atlas_affine[:3, 3] = -10.0
    image = tmp_path / "prob.nii.gz"
    nib.Nifti1Image(prob.astype(np.float32), atlas_affine).to_filename(image)
    labels_file = tmp_path / "prob.tsv"
    labels_file.write_text("index\tname\n1\tArea A\n2\tArea B\n3\tArea C\n")
    atlases = load_atlases(
        [AtlasSpec(name="prob", source="file", file=image, labels=labels_file)],
        data_space=None,
    )
    # Data grid: same voxels, plus 2 voxels beyond the atlas on each side along x.
    affine = atlas_affine.copy()
    affine[0, 3] = -14.0
    mask = np.zeros((14, 10, 10), dtype=bool)
    mask[:, 5, 5] = True  # one line of 14 voxels along x
    labels3d = np.zeros(mask.shape, int)
    labels3d[:, 5, 5] = 1
    clusters = pd.DataFrame(
        [(1, "+", 14, 112.0, 0.0, 0.0, 0.0, 5.0, 6.0)], columns=list(CLUSTER_COLUMNS)
    )
    # Peaks: atlas voxel i=2 centre, half-way between i=2 and i=3, and outside the atlas.
    xyz = np.array([[-6.0, 0.0, 0.0], [-5.0, 0.0, 0.0], [-13.0, 0.0, 0.0]])
    peaks = pd.DataFrame(
        {
            "cluster_id": ["1", "1a", "1b"],
            "peak_x": xyz[:, 0],
            "peak_y": xyz[:, 1],
            "peak_z": xyz[:, 2],
            "peak_value": 4.0,
            "peak_stat": 5.0,
            "size_voxels": 14,
            "volume_mm": 112.0,
        }
    )
    out_clusters, out_peaks, notes = label_tables(
        clusters, peaks, labels3d[mask], mask=mask, affine=affine, atlases=atlases
    )
    assert list(out_peaks["prob"]) == [
        "Area B (77%); Area A (20%)",  # Area C (3 %) is below the 5 % threshold
        "Area B (72%); Area A (25%)",  # trilinear interpolation half-way
        NO_LABEL,
    ]
    # 5 voxels B (i <= 4), 5 voxels A, 4 voxels outside the atlas: 36 %, 36 %, 29 %.
    assert out_clusters.loc[0, "prob"] == "36% Area A; 36% Area B; 29% no label"
    assert any("probabilistic" in note and "5%" in note for note in notes)
    _, low_threshold_peaks, _ = label_tables(
        clusters,
        peaks,
        labels3d[mask],
        mask=mask,
        affine=affine,
        atlases=atlases,
        prob_threshold=1.0,
    )
    assert low_threshold_peaks.loc[0, "prob"] == "Area B (77%); Area A (20%); Area C (3%)"


def test_atlas_without_overlap_is_an_error(templateflow_home, tmp_path, grid_2009):
    mask, affine = grid_2009
    img = nib.load(templateflow_home / HOCPA)
    far = img.affine.copy()
    far[:3, 3] += 1000.0
    moved = tmp_path / "moved.nii.gz"
    nib.Nifti1Image(np.asanyarray(img.dataobj), far).to_filename(moved)
    atlases = load_atlases(
        [
            AtlasSpec(
                name="moved",
                source="file",
                file=moved,
                labels=templateflow_home / HOCPA_TSV,
                where="atlases[3]",
            )
        ],
        data_space=None,
    )
    clusters, peaks, labels, _ = _tables(mask, affine, np.argwhere(mask)[:1])
    with pytest.raises(AtlasError, match=r"atlases\[3\]: atlas 'moved' does not overlap"):
        label_tables(clusters, peaks, labels, mask=mask, affine=affine, atlases=atlases)


def test_column_clash_is_an_error(templateflow_home, grid_2009):
    mask, affine = grid_2009
    clusters, peaks, labels, _ = _tables(mask, affine, np.argwhere(mask)[:1])
    atlases = load_atlases([registry_spec("harvard-oxford-cortical", name="sign")], data_space=None)
    with pytest.raises(AtlasError, match="clashes"):
        label_tables(clusters, peaks, labels, mask=mask, affine=affine, atlases=atlases)


def test_clusters_without_voxels_are_noted(templateflow_home, grid_2009):
    mask, affine = grid_2009
    clusters, peaks, _, _ = _tables(mask, affine, np.argwhere(mask)[[1000, 5000]])
    atlases = load_atlases([registry_spec("harvard-oxford-cortical")], data_space=None)
    out_clusters, out_peaks, notes = label_tables(
        clusters,
        peaks,
        np.zeros(int(mask.sum()), int),
        mask=mask,
        affine=affine,
        atlases=atlases,
    )
    assert (out_clusters["harvard-oxford-cortical"] == NO_VOXELS).all()
    assert out_peaks["harvard-oxford-cortical"].map(len).gt(0).all()
    assert any("unavailable for cluster(s) 1, 2" in note for note in notes)
