"""A correction's section parts: details, files, ARI levels, partials and cluster peaks."""

from __future__ import annotations

import pandas as pd
from fixtures.summaries import correction

from glmreport.report.correction import ari_levels, cluster_peaks, details, files, partial


def test_details_are_labelled_and_filtered():
    entry = correction(
        "permutation",
        "permMaxT",
        params={"n_perm": 5000, "seed": 3, "tfce": False, "tfce_E": 0.5, "blank": " "},
        extras={"exact": False, "observed_max": 7.0, "n_perm": 5000, "atlas_notes": ["x"]},
    )
    shown = {d.key: (d.label, d.value) for d in details(entry, stat_type="t")}
    assert shown == {
        "n_perm": ("Permutations", "5\u2009000"),
        "seed": ("Random seed", "3"),
        "exact": ("All permutations enumerated", "no"),
    }  # hidden, other routes' keys, blanks and the null figure's numbers are left out
    rft = correction("rft", "rft", extras={"fwhm_mm": [8.0, 8.0, 8.0]})
    assert details(rft, stat_type="t") == ()  # rft shows every extra in its own footer


def test_files_and_partial():
    entry = correction("permutation", "permMaxT", maps={"logpFWE": "maps/l.nii.gz"})
    assert files(entry) == (
        ("thresholded z map", entry.map),
        ("clusters", entry.clusters_table),
        ("peaks", entry.peaks_table),
        ("map logpFWE", "maps/l.nii.gz"),
    )
    assert partial("ari") == "corrections/ari.html.j2"
    assert partial("fdr") is None and partial("../x") is None


def test_ari_levels():
    entry = correction(
        "ari",
        "ari",
        extras={
            "thresholds": [3.0, 4.0],
            "thresholds_stat": [3.5, None],
            "n_clusters_formed": [5],
            "n_clusters_tdp_positive": [2, 1],
        },
    )
    levels = ari_levels(entry)
    assert [(lv.threshold_z, lv.threshold_stat) for lv in levels] == [(3.0, 3.5), (4.0, None)]
    assert [lv.n_clusters_formed for lv in levels] == [5, None]
    assert [lv.n_clusters_tdp_positive for lv in levels] == [2, 1]
    assert ari_levels(correction()) == ()


def test_cluster_peaks_alternate_signs():
    frame = pd.DataFrame(
        {
            "cluster_id": ["1", "2", "3"],
            "sign": ["+", "+", "-"],
            "size_voxels": [30, 20, 10],
            "peak_x": [1.0, 2.0, 3.0],
            "peak_y": [0.0, 0.0, 0.0],
            "peak_z": [5.0, 6.0, None],
        }
    )
    frame.loc[2, "peak_z"] = 7.0
    peaks = cluster_peaks(frame)
    assert [caption for _, caption in peaks] == [
        "#1 (+) 30 vox",
        "#3 (\u2212) 10 vox",
        "#2 (+) 20 vox",
    ]
    assert peaks[1][0] == (3.0, 0.0, 7.0)
    assert cluster_peaks(None) == [] and cluster_peaks(frame[["cluster_id"]]) == []
