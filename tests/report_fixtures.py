"""Write a realistic synthetic results folder, laid out as the pipeline writes it.

Used by the report and figure tests and by ``bench/bench_report.py``. The folder follows the
results-folder contract (``summary.json``, ``design_matrix.tsv``, ``mask.nii.gz``, ``maps/``,
``tables/``) without running the pipeline: z maps are smooth seeded noise plus Gaussian blobs
at known MNI coordinates, thresholds are fixed numbers, and cluster tables are built here with
``scipy.ndimage.label``.

Contents (16 subjects, 3 contrasts, 9 contrast x correction sections):

* ``button press`` (t): FDR (one-sided, atlas columns and atlas notes), permutation max-T
  (two-sided, npz null distribution, ``p_fwe`` column), RFT voxel level (SPM-style columns
  and the full ``extras`` footer).
* ``<script>alert(1)</script>`` (t): uncorrected two-sided with a cluster extent, Bonferroni
  (nothing survives: empty tables), permutation cluster size (npz null).
* ``age or sex`` (F, two rows): FDR, ARI (two thresholds: one block of clusters each, with
  ``tdp``, ``min_true_voxels`` and ``parent_id``), RFT cluster level.

Every clusters table has the pipeline's cross-reference column ``survives``; the tables of the
contrast with ARI also have ``ari_tdp``. ``atlases`` lists one atlas used (with a space note)
and one missing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from scipy import ndimage, stats

from glmreport.resources import template_image
from glmreport.stats.results import CLUSTER_COLUMNS, PEAK_COLUMNS

SCRIPT_NAME = "<script>alert(1)</script>"
CONTRAST_NAMES = ("button press", SCRIPT_NAME, "age or sex")
ATLAS = "harvard-oxford-cortical"
SPACE_NOTE = (
    "Atlas 'harvard-oxford-cortical' is defined in MNI152NLin6Asym but the data are in "
    "MNI152NLin2009cAsym; labels were looked up at the same world (mm) coordinates."
)
COMPOSITION_NOTE = "Cluster composition is unavailable for cluster(s) 2: voxels not passed."

_REGIONS = {
    (-38.0, -22.0, 56.0): "Left Precentral Gyrus",
    (40.0, -20.0, 54.0): "Right Precentral Gyrus",
    (2.0, -84.0, 6.0): "Intracalcarine Cortex",
    (46.0, 30.0, 10.0): "Right Inferior Frontal Gyrus",
    (-44.0, 26.0, 12.0): "Left Inferior Frontal Gyrus",
    (-4.0, 48.0, -8.0): "Frontal Medial Cortex",
    (30.0, -60.0, 48.0): "Right Superior Parietal Lobule",
}

_CONFIG = """\
title: Button press, group level
model:
  level: second
  inputs: inputs.tsv
  design: one-sample t-test
  covariates: [age, sex]
  smoothing_fwhm: 8
contrasts:
  - name: button press
    t: intercept
  - name: "<script>alert(1)</script>"
    t: age
  - name: age or sex
    F: [age, sex]
corrections:
  - {method: fdr, alpha: 0.05}
  - {method: permutation, n_perm: 1000, seed: 42, two_sided: true}
  - {method: rft, alpha: 0.05}
"""


def _blobs(mask: np.ndarray, affine: np.ndarray, spec: list[tuple[tuple, float, float]]):
    """Sum of Gaussian blobs: (centre mm, amplitude, sigma mm)."""
    ijk = np.argwhere(mask)
    xyz = nib.affines.apply_affine(affine, ijk)
    out = np.zeros(len(ijk))
    for centre, amplitude, sigma in spec:
        d2 = ((xyz - np.asarray(centre)) ** 2).sum(axis=1)
        out += amplitude * np.exp(-d2 / (2 * sigma**2))
    return out


def _label(xyz: np.ndarray) -> str:
    best = min(_REGIONS, key=lambda c: float(((np.asarray(c) - xyz) ** 2).sum()))
    if float(((np.asarray(best) - xyz) ** 2).sum()) > 20.0**2:
        return "n/a"
    return _REGIONS[best]


def _clusters(
    z: np.ndarray,
    stat: np.ndarray,
    surviving: np.ndarray,
    mask: np.ndarray,
    affine: np.ndarray,
    *,
    two_sided: bool,
    min_size: int,
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Clusters and peaks tables in the contract's schema, and the final surviving mask."""
    voxel_volume = float(abs(np.linalg.det(affine[:3, :3])))
    found = []
    keep = np.zeros_like(surviving)
    signs = (1, -1) if two_sided else (1,)
    for sign in signs:
        vol = np.zeros(mask.shape, bool)
        vol[mask] = surviving & (np.sign(z) == sign)
        labels, n = ndimage.label(vol, structure=np.ones((3, 3, 3)))
        lab = labels[mask]
        for k in range(1, n + 1):
            members = np.flatnonzero(lab == k)
            if len(members) < max(min_size, 1):
                continue
            keep[members] = True
            order = members[np.argsort(-np.abs(z[members]))]
            found.append((sign, order))
    found.sort(key=lambda item: (-item[0], -abs(z[item[1][0]])))
    ijk_all = np.argwhere(mask)
    cluster_rows, peak_rows = [], []
    for cid, (sign, order) in enumerate(found, start=1):
        xyz = nib.affines.apply_affine(affine, ijk_all[order])
        size = len(order)
        top = order[0]
        cluster_rows.append(
            {
                "cluster_id": cid,
                "sign": "+" if sign > 0 else "-",
                "size_voxels": size,
                "volume_mm": size * voxel_volume,
                "peak_x": xyz[0, 0],
                "peak_y": xyz[0, 1],
                "peak_z": xyz[0, 2],
                "peak_value": float(z[top]),
                "peak_stat": float(stat[top]),
            }
        )
        picked: list[int] = []
        for idx in range(len(order)):
            if all(np.linalg.norm(xyz[idx] - xyz[p]) >= 8.0 for p in picked):
                picked.append(idx)
            if len(picked) == 4:
                break
        for n_sub, idx in enumerate(picked):
            peak_rows.append(
                {
                    "cluster_id": str(cid) + ("" if n_sub == 0 else "abc"[n_sub - 1]),
                    "peak_x": xyz[idx, 0],
                    "peak_y": xyz[idx, 1],
                    "peak_z": xyz[idx, 2],
                    "peak_value": float(z[order[idx]]),
                    "peak_stat": float(stat[order[idx]]),
                    "size_voxels": size,
                    "volume_mm": size * voxel_volume,
                }
            )
    clusters = pd.DataFrame(cluster_rows, columns=list(CLUSTER_COLUMNS))
    peaks = pd.DataFrame(peak_rows, columns=list(PEAK_COLUMNS))
    return clusters, peaks, keep


def _z_to_stat(z: float, stat_type: str, q: int, dof: float) -> float:
    if stat_type == "t":
        return float(stats.t.isf(stats.norm.sf(z), dof))
    return float(stats.f.isf(stats.norm.sf(z), q, dof))


def _ari_tables(z, stat, mask, affine, thresholds, *, two_sided: bool):
    """One block of clusters per threshold (ids continue), as ARI writes its tables."""
    cluster_blocks, peak_blocks = [], []
    keep = np.zeros(len(z), dtype=bool)
    next_id = 1
    previous = None
    for t in thresholds:
        surviving = (np.abs(z) > t) if two_sided else (z > t)
        clusters, peaks, kept = _clusters(
            z, stat, surviving, mask, affine, two_sided=two_sided, min_size=30
        )
        if t == thresholds[0]:
            keep = kept
        mapping = {str(i): str(i + next_id - 1) for i in clusters["cluster_id"]}
        clusters["cluster_id"] = clusters["cluster_id"] + next_id - 1
        peaks["cluster_id"] = [
            mapping[str(int(v.rstrip("abc")))] + v.lstrip("0123456789") for v in peaks["cluster_id"]
        ]
        tdp = np.clip(0.2 + 0.75 * (1 - np.exp(-clusters["size_voxels"] / 400.0)), 0, 1).round(4)
        clusters["threshold_z"] = t
        clusters["tdp"] = tdp
        clusters["min_true_voxels"] = np.floor(tdp * clusters["size_voxels"]).astype(int)
        if previous is None or previous.empty:
            clusters["parent_id"] = 0
        else:
            xyz = previous[["peak_x", "peak_y", "peak_z"]].to_numpy(float)
            clusters["parent_id"] = [
                int(previous["cluster_id"].iloc[int(np.argmin(((xyz - p) ** 2).sum(axis=1)))])
                for p in clusters[["peak_x", "peak_y", "peak_z"]].to_numpy(float)
            ]
        peaks["threshold_z"] = t
        peaks["tdp"] = [
            float(tdp.iloc[list(clusters["cluster_id"].astype(str)).index(v.rstrip("abc"))])
            for v in peaks["cluster_id"]
        ]
        cluster_blocks.append(clusters)
        peak_blocks.append(peaks)
        next_id += len(clusters)
        previous = clusters
    return (
        pd.concat(cluster_blocks, ignore_index=True),
        pd.concat(peak_blocks, ignore_index=True),
        keep,
    )


def _add_rft_columns(clusters: pd.DataFrame, peaks: pd.DataFrame) -> None:
    """SPM-style cluster-level and peak-level p-values (synthetic, monotone in size and z)."""
    size = clusters["size_voxels"].to_numpy(float)
    peak_z = clusters["peak_value"].to_numpy(float)
    clusters["size_resels"] = (size / 85.95).round(4)
    clusters["p_fwe"] = np.minimum(1.0, np.exp(-size / 40.0)).round(6)
    clusters["q_fdr"] = np.minimum(1.0, 1.2 * np.exp(-size / 40.0)).round(6)
    clusters["p_unc"] = np.exp(-size / 20.0).round(8)
    clusters["peak_p_fwe"] = np.minimum(1.0, 50 * stats.norm.sf(peak_z)).round(6)
    clusters["peak_q_fdr"] = np.minimum(1.0, 80 * stats.norm.sf(peak_z)).round(6)
    clusters["peak_p_unc"] = stats.norm.sf(peak_z)
    pz = peaks["peak_value"].to_numpy(float)
    peaks["p_fwe"] = np.minimum(1.0, 50 * stats.norm.sf(pz)).round(6)
    peaks["q_fdr"] = np.minimum(1.0, 80 * stats.norm.sf(pz)).round(6)
    peaks["p_unc"] = stats.norm.sf(pz)


def _rft_extras(
    *,
    stat_type: str,
    q: int,
    dof: float,
    n_vox: int,
    threshold_z: float,
    threshold_stat: float,
    n_clusters: int,
    cluster: bool,
    two_sided: bool,
) -> dict:
    """The SPM table footer that the pipeline's RFT correction writes into ``extras``."""
    fwe_stat = _z_to_stat(4.9, stat_type, q, dof)
    extras = {
        "field": "T" if stat_type == "t" else "F",
        "df": [float(q), dof],
        "dof": dof,
        "two_sided": two_sided,
        "height_threshold_stat": threshold_stat,
        "height_threshold_z": threshold_z,
        "height_threshold_p_unc": float(stats.norm.sf(threshold_z)),
        "height_threshold_p_fwe": 1.0 if cluster else 0.05,
        "extent_threshold_voxels": 0,
        "extent_threshold_p_unc": None,
        "extent_threshold_p_fwe": None,
        "expected_voxels_per_cluster": 4.452 if cluster else 0.3793,
        "expected_number_of_clusters": 56.36 if cluster else 0.1297,
        "set_level_c": n_clusters,
        "set_level_p": 0.6906,
        "fwe_p_stat": fwe_stat,
        "fwe_p_rft_stat": fwe_stat + 0.9,
        "fwe_p_bonferroni_stat": fwe_stat,
        "fdr_p_stat": None,
        "fwe_c_voxels": 63,
        "fdr_c_voxels": None,
        "peak_fdr": "topological",
        "fwhm_mm": [8.4, 8.9, 8.1],
        "fwhm_voxels": [4.2, 4.45, 4.05],
        "voxel_size_mm": [2.0, 2.0, 2.0],
        "resels": [1.0, 62.54, 817.08, 2574.42],
        "resel_size_voxels": 85.95,
        "volume_voxels": n_vox,
        "volume_mm3": n_vox * 8.0,
        "smoothness_source": "residuals",
        "smoothness_dof": dof,
        "smoothness_n_images": 16,
    }
    if cluster:
        extras.update(
            {
                "cluster_forming_p": 0.001,
                "cluster_forming_threshold_stat": threshold_stat,
                "cluster_forming_threshold_z": threshold_z,
                "n_clusters_formed": n_clusters + 40,
            }
        )
    return extras


def _save(values: np.ndarray, mask: np.ndarray, affine: np.ndarray, path: Path, dtype=np.float32):
    vol = np.zeros(mask.shape, dtype=dtype)
    vol[mask] = values
    img = nib.Nifti1Image(vol, affine)
    img.header.set_xyzt_units(xyz="mm")
    nib.save(img, path)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_results(
    out: Path,
    *,
    n_subjects: int = 16,
    seed: int = 0,
    coarse: bool = False,
    write_inputs: bool = False,
) -> Path:
    """Write a synthetic results folder and return its path.

    Parameters
    ----------
    out : Path
        Folder to create (parents too).
    n_subjects : int
    seed : int
    coarse : bool
        Use a 4 mm grid instead of the template's 2 mm grid (exercises display resampling).
    write_inputs : bool
        Also write ``n_subjects`` input images under ``out/inputs`` (listed in
        ``summary.json`` with their real sha256), for benchmarks that refit the data.
    """
    out = Path(out)
    rng = np.random.default_rng(seed)
    (out / "maps").mkdir(parents=True, exist_ok=True)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    mask_img = nib.load(template_image("mask"))
    mask = np.asarray(mask_img.dataobj) > 0
    affine = mask_img.affine.copy()
    if coarse:
        mask = mask[::2, ::2, ::2]
        affine = affine @ np.diag([2.0, 2.0, 2.0, 1.0])
    mask_u8 = mask.astype(np.uint8)
    nib.save(nib.Nifti1Image(mask_u8, affine), out / "mask.nii.gz")
    n_vox = int(mask.sum())

    def noise() -> np.ndarray:
        vol = ndimage.gaussian_filter(rng.standard_normal(mask.shape), 1.5 if not coarse else 0.8)
        vals = vol[mask]
        return (vals - vals.mean()) / vals.std()

    # Design: intercept, centred age, sex (+1/-1).
    age = rng.uniform(20, 60, n_subjects).round(1)
    sex = np.where(np.arange(n_subjects) % 2 == 0, 1.0, -1.0)
    design = pd.DataFrame({"intercept": np.ones(n_subjects), "age": age - age.mean(), "sex": sex})
    design.to_csv(out / "design_matrix.tsv", sep="\t", index=False, float_format="%.6g")
    dof = float(n_subjects - 3)

    inputs = []
    for s in range(n_subjects):
        path = out / "inputs" / f"sub-{s + 1:02d}_stat-effect_statmap.nii.gz"
        entry = {
            "path": str(path),
            "sha256": hashlib.sha256(f"sub-{s + 1:02d}".encode()).hexdigest(),
            "subject": f"sub-{s + 1:02d}",
            "age": float(age[s]),
            "sex": "F" if sex[s] > 0 else "M",
        }
        if write_inputs:
            path.parent.mkdir(exist_ok=True)
            effect = _blobs(mask, affine, [((-38, -22, 56), 1.0, 6), ((40, -20, 54), 0.8, 6)])
            _save(effect + 0.8 * noise(), mask, affine, path)
            entry["sha256"] = _sha256(path)
        inputs.append(entry)

    blob_sets = {
        "buttonPress": [
            ((-38, -22, 56), 7.0, 6.0),
            ((40, -20, 54), 5.5, 5.0),
            ((2, -84, 6), -6.0, 6.0),
            ((46, 30, 10), 4.2, 4.0),
        ],
        "scriptAlert1Script": [
            ((-44, 26, 12), 4.6, 5.0),
            ((-4, 48, -8), -4.4, 5.0),
            ((30, -60, 48), 4.0, 3.0),
        ],
        "ageOrSex": [((30, -60, 48), 6.0, 6.0), ((-38, -22, 56), 4.8, 5.0)],
    }
    specs = [
        ("button press", "buttonPress", "t", [[1.0, 0.0, 0.0]]),
        (SCRIPT_NAME, "scriptAlert1Script", "t", [[0.0, 1.0, 0.0]]),
        ("age or sex", "ageOrSex", "F", [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),
    ]
    corrections_of = {
        "buttonPress": [
            dict(
                method="fdr",
                desc="fdr",
                title="FDR q < 0.05 (Benjamini-Hochberg)",
                alpha=0.05,
                two_sided=False,
                threshold_z=3.3,
                cluster_extent=0,
                atlas=True,
                params={"method": "bh"},
            ),
            dict(
                method="permutation",
                desc="permMaxT",
                title="Permutation FWE p < 0.05 (voxel max-T)",
                alpha=0.05,
                two_sided=True,
                threshold_z=4.6,
                cluster_extent=0,
                null=True,
                params={"n_perm": 1000, "seed": 42, "statistic": "max-T", "scheme": "sign-flip"},
            ),
            dict(
                method="rft",
                desc="rft",
                title="RFT voxel-level FWE p < 0.05",
                alpha=0.05,
                two_sided=False,
                threshold_z=4.9,
                cluster_extent=0,
                rft=True,
                params={"cluster_forming_p": 0.001, "fwhm_mm": None},
            ),
        ],
        "scriptAlert1Script": [
            dict(
                method="uncorrected",
                desc="uncorrected",
                title="Uncorrected p < 0.001",
                alpha=0.001,
                two_sided=True,
                threshold_z=3.29,
                cluster_extent=10,
                atlas=True,
                params={},
            ),
            dict(
                method="bonferroni",
                desc="bonferroni",
                title="Bonferroni FWE p < 0.05",
                alpha=0.05,
                two_sided=False,
                threshold_z=6.0,
                cluster_extent=0,
                params={},
            ),
            dict(
                method="permutation",
                desc="permClusterSize",
                title="Permutation FWE p < 0.05 (cluster size, CDT p < 0.001)",
                alpha=0.05,
                two_sided=False,
                threshold_z=3.09,
                cluster_extent=0,
                null=True,
                cluster=True,
                params={
                    "n_perm": 1000,
                    "seed": 7,
                    "statistic": "cluster size",
                    "cluster_forming_p": 0.001,
                },
            ),
        ],
        "ageOrSex": [
            dict(
                method="fdr",
                desc="fdr",
                title="FDR q < 0.05 (Benjamini-Hochberg)",
                alpha=0.05,
                two_sided=False,
                threshold_z=3.5,
                cluster_extent=0,
                params={},
            ),
            dict(
                method="ari",
                desc="ari",
                title="ARI true discovery proportion (\u03b1 = 0.05), clusters z > 3.09, 4",
                alpha=0.05,
                two_sided=False,
                threshold_z=3.09,
                cluster_extent=0,
                ari=True,
                params={"thresholds": [3.09, 4.0]},
            ),
            dict(
                method="rft",
                desc="rftCluster",
                title="RFT cluster-level FWE p < 0.05 (cluster-forming p < 0.001)",
                alpha=0.05,
                two_sided=False,
                threshold_z=3.09,
                cluster_extent=0,
                rft=True,
                cluster=True,
                params={"cluster_forming_p": 0.001, "fwhm_mm": None},
            ),
        ],
    }

    contrasts = []
    seeds = {}
    for name, label, stat_type, weights in specs:
        z = noise() + _blobs(mask, affine, blob_sets[label])
        q = len(weights)
        if stat_type == "t":
            stat = stats.t.isf(stats.norm.sf(z), dof)
            p = stats.norm.sf(z)
        else:
            stat = stats.f.isf(stats.norm.sf(z), q, dof)
            p = stats.norm.sf(z)
        effect = z * 0.5
        maps = {}
        for key, values in (
            ("effect", effect),
            ("variance", np.full(n_vox, 0.25)),
            ("t" if stat_type == "t" else "F", stat),
            ("z", z),
            ("p", p),
        ):
            rel = f"maps/contrast-{label}_stat-{key}_statmap.nii.gz"
            _save(values, mask, affine, out / rel)
            maps["stat" if key in ("t", "F") else key] = rel
        results = []
        for c in corrections_of[label]:
            thr_z = c["threshold_z"]
            thr_stat = _z_to_stat(thr_z, stat_type, q, dof)
            surviving = (np.abs(z) > thr_z) if c["two_sided"] else (z > thr_z)
            min_size = c["cluster_extent"]
            if c.get("cluster"):
                min_size = 40
            base = f"contrast-{label}_desc-{c['desc']}"
            extras = dict(c.get("extras", {}))
            if c.get("ari"):
                clusters, peaks, keep = _ari_tables(
                    z, stat, mask, affine, c["params"]["thresholds"], two_sided=c["two_sided"]
                )
                extras.update(
                    {
                        "hommel_value": n_vox - 3,
                        "thresholds": c["params"]["thresholds"],
                        "thresholds_stat": [
                            _z_to_stat(t, stat_type, q, dof) for t in c["params"]["thresholds"]
                        ],
                        "n_tests": n_vox,
                        "n_clusters_formed": [91, 5],
                        "n_clusters_tdp_positive": [
                            int((clusters["threshold_z"] == t).sum())
                            for t in c["params"]["thresholds"]
                        ],
                    }
                )
            else:
                clusters, peaks, keep = _clusters(
                    z, stat, surviving, mask, affine, two_sided=c["two_sided"], min_size=min_size
                )
            if c.get("rft"):
                _add_rft_columns(clusters, peaks)
                extras.update(
                    _rft_extras(
                        stat_type=stat_type,
                        q=q,
                        dof=dof,
                        n_vox=n_vox,
                        threshold_z=thr_z,
                        threshold_stat=thr_stat,
                        n_clusters=len(clusters),
                        cluster=bool(c.get("cluster")),
                        two_sided=c["two_sided"],
                    )
                )
            if c.get("atlas"):
                clusters[ATLAS] = [
                    _label(np.array(r[["peak_x", "peak_y", "peak_z"]], float))
                    for _, r in clusters.iterrows()
                ]
                clusters[f"{ATLAS}_composition"] = [
                    f"{lab} (64%); Postcentral Gyrus (21%); unlabelled (15%)"
                    if lab != "n/a"
                    else "unlabelled (100%)"
                    for lab in clusters[ATLAS]
                ]
                peaks[ATLAS] = [
                    _label(np.array(r[["peak_x", "peak_y", "peak_z"]], float))
                    for _, r in peaks.iterrows()
                ]
                extras["atlas_notes"] = [SPACE_NOTE, COMPOSITION_NOTE]
            arrays_rel = None
            if c.get("null"):
                if c.get("cluster"):
                    null = rng.gamma(2.0, 8.0, 1000)
                    label_null = "maximum cluster size (voxels)"
                    observed = float(clusters["size_voxels"].max()) if len(clusters) else 0.0
                    clusters["p_fwe"] = [
                        max(float((null >= s).mean()), 1 / 1000) for s in clusters["size_voxels"]
                    ]
                else:
                    null = 3.4 + 0.45 * rng.gumbel(size=1000)
                    label_null = "maximum |t|"
                    observed = float(np.abs(stat).max())
                    clusters["p_fwe"] = [
                        max(float((null >= abs(s)).mean()), 1 / 1000) for s in clusters["peak_stat"]
                    ]
                    clusters.loc[len(clusters) - 1 :, "p_fwe"] = np.nan  # one missing value
                critical = float(np.quantile(null, 1 - c["alpha"]))
                extras.update(
                    {
                        "observed_max": observed,
                        "critical_value": critical,
                        "null_label": label_null,
                        "n_perm": 1000,
                        "exact": False,
                        "scheme": "sign-flip",
                        "min_p_fwe": 0.001,
                    }
                )
                arrays_rel = f"tables/{base}_arrays.npz"
                np.savez_compressed(out / arrays_rel, null=null)
                seeds[f"{name}/{c['desc']}"] = c["params"]["seed"]
            results.append((c, clusters, peaks, keep, extras, arrays_rel, thr_z, thr_stat))

        # Cross-references, as the pipeline adds them: which corrections each cluster's peak
        # survives, and the ARI bound of the clusters of the other corrections.
        order = np.full(mask.shape, -1, dtype=np.int64)
        order[mask] = np.arange(n_vox)
        inverse = np.linalg.inv(affine)
        has_ari = any(c.get("ari") for c, *_ in results)
        for c, clusters, *_ in results:
            if clusters.empty:
                continue
            xyz = clusters[["peak_x", "peak_y", "peak_z"]].to_numpy(float)
            ijk = np.rint(nib.affines.apply_affine(inverse, xyz)).astype(int)
            idx = order[ijk[:, 0], ijk[:, 1], ijk[:, 2]]
            clusters["survives"] = [
                ", ".join(o["desc"] for o, _, _, kp, *_ in results if i >= 0 and kp[i]) or "-"
                for i in idx
            ]
            if has_ari and not c.get("ari"):
                clusters["ari_tdp"] = np.clip(clusters["size_voxels"] / 800.0, 0, 1).round(4)

        corrections = []
        for c, clusters, peaks, keep, extras, arrays_rel, thr_z, thr_stat in results:
            base = f"contrast-{label}_desc-{c['desc']}"
            clusters.to_csv(
                out / f"tables/{base}_clusters.tsv", sep="\t", index=False, na_rep="n/a"
            )
            peaks.to_csv(out / f"tables/{base}_peaks.tsv", sep="\t", index=False, na_rep="n/a")
            thresholded = np.where(keep, z, 0.0)
            map_rel = f"maps/{base}_stat-z_statmap.nii.gz"
            _save(thresholded, mask, affine, out / map_rel)
            extra_maps = {}
            if c["method"] == "permutation":
                rel = f"maps/{base}_stat-logp_fwe_statmap.nii.gz"
                _save(np.where(keep, 2.0, 0.0), mask, affine, out / rel)
                extra_maps["logp_fwe"] = rel
            corrections.append(
                {
                    "method": c["method"],
                    "desc": c["desc"],
                    "title": c["title"],
                    "alpha": c["alpha"],
                    "two_sided": c["two_sided"],
                    "threshold_z": thr_z,
                    "threshold_stat": thr_stat,
                    "threshold_scale": f"z and {stat_type}",
                    "cluster_extent": c["cluster_extent"],
                    "n_voxels": int(keep.sum()),
                    "n_clusters": len(clusters),
                    "clusters_table": f"tables/{base}_clusters.tsv",
                    "peaks_table": f"tables/{base}_peaks.tsv",
                    "map": map_rel,
                    "maps": extra_maps,
                    "arrays": arrays_rel,
                    "params": c["params"],
                    "extras": extras,
                }
            )
        contrasts.append(
            {
                "name": name,
                "label": label,
                "stat_type": stat_type,
                "dof": dof,
                "df_num": q,
                "weights": weights,
                "columns": list(design.columns),
                "maps": maps,
                "corrections": corrections,
            }
        )

    summary = {
        "glmreport_version": "0.1.0",
        "title": "Button press, group level",
        "config_file": str(out.parent / "analysis.yaml"),
        "config_text": _CONFIG,
        "model": {
            "level": "second",
            "design": "one-sample t-test with covariates",
            "n_inputs": n_subjects,
            "columns": list(design.columns),
            "nuisance_columns": [],
            "dof": dof,
            "smoothing_fwhm": 8.0,
            "mask": {
                "source": "auto",
                "rule": "voxels with data in every input, intersected with the template mask",
                "n_voxels": n_vox,
            },
            "space": "MNI152NLin2009cAsym",
            "noise_model": "ols",
            "voxel_size": [float(v) for v in nib.affines.voxel_sizes(affine)],
            "shape": list(mask.shape),
        },
        # Beyond the contract (optional): cluster-forming settings, quoted in the methods.
        "inference": {"connectivity": 26, "peak_min_distance_mm": 8.0, "max_subpeaks": 3},
        "design_matrix": "design_matrix.tsv",
        "mask": "mask.nii.gz",
        "background": None,
        "inputs": inputs,
        "contrasts": contrasts,
        "atlases": [
            {
                "name": ATLAS,
                "status": "ok",
                "message": "",
                "citation": "Desikan RS et al. (2006) NeuroImage 31:968-980. "
                "doi:10.1016/j.neuroimage.2006.01.021",
                "title": "Harvard-Oxford cortical atlas, maximum probability thresholded at 25 %",
                "doi": "10.1016/j.neuroimage.2006.01.021",
                "licence": "FSL licence: non-commercial use only "
                "(https://fsl.fmrib.ox.ac.uk/fsl/fslwiki/Licence)",
                "space": "MNI152NLin6Asym",
                "space_note": SPACE_NOTE,
            },
            {
                "name": "aal",
                "status": "missing",
                "message": "AAL files not found under $GLMREPORT_ATLASES",
                "citation": "",
                "space": "",
                "space_note": "",
            },
        ],
        "provenance": {
            "versions": {
                "glmreport": "0.1.0",
                "numpy": np.__version__,
                "scipy": "1.17.0",
                "nibabel": nib.__version__,
                "pandas": pd.__version__,
            },
            "python": "3.11.7",
            "platform": "Linux-6.1-x86_64",
            "started": "2025-11-22T15:30:00+00:00",
            "finished": "2025-11-22T15:31:12+00:00",
            "run_time_s": 72.4,
            "seeds": seeds,
            "command": "glmreport run analysis.yaml -o results",
        },
        "report": {},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return out
