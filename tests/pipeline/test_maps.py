"""Existing statistical maps read as contrasts: p and z from the stated statistic."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
from fixtures.tiny_study import AFFINE
from scipy import stats

from glmreport.config.load import parse_config
from glmreport.errors import InputError
from glmreport.pipeline.maps import prepare_maps


def _config(tmp_path, values: dict[str, np.ndarray], entries: str):
    for name, volume in values.items():
        nib.Nifti1Image(volume.astype(np.float32), AFFINE).to_filename(tmp_path / name)
    text = f"model: {{level: maps, space: null, maps: [{entries}]}}\nreport: {{formats: []}}\n"
    return parse_config(text, base_dir=tmp_path)


def test_t_and_z_maps(tmp_path):
    rng = np.random.default_rng(1)
    t = rng.standard_normal((6, 6, 6)) * 3
    z = rng.standard_normal((6, 6, 6))
    t[t == 0] = 0.5
    z[z == 0] = 0.5
    config = _config(
        tmp_path,
        {"t.nii.gz": t, "z.nii.gz": z},
        "{name: tmap, path: t.nii.gz, stat: t, dof: 12}, {name: zmap, path: z.nii.gz, stat: z}",
    )
    prepared = prepare_maps(config)
    tmap, zmap = prepared.contrasts
    values = t.astype(np.float32).ravel().astype(np.float64)
    np.testing.assert_allclose(tmap.p, stats.t.sf(values, 12), rtol=1e-9)
    np.testing.assert_allclose(tmap.z, stats.norm.isf(stats.t.sf(values, 12)), rtol=1e-6, atol=1e-9)
    assert (tmap.dof, tmap.stat_type, zmap.dof) == (12.0, "t", np.inf)
    np.testing.assert_array_equal(zmap.z, z.astype(np.float32).ravel())
    assert [c.label for c in prepared.contrasts] == ["tmap", "zmap"]
    assert prepared.model["level"] == "maps" and prepared.model["dof"] is None


def test_negative_f_values_are_refused(tmp_path):
    f = np.ones((6, 6, 6))
    f[0, 0, 0] = -2.0
    config = _config(tmp_path, {"f.nii.gz": f}, "{name: fmap, path: f.nii.gz, stat: F, dof: 20}")
    with pytest.raises(InputError, match="1 voxel\\(s\\) below 0"):
        prepare_maps(config)
