"""Building the report model of a real run at the ``maps`` level (existing statistical maps:
no design matrix, no effect or variance maps)."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from glmreport.cli import main
from glmreport.outputs.summary import read_summary
from glmreport.report.build import build_report_model, design_figures


@pytest.fixture(scope="module")
def maps_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("maps")
    z = np.zeros((10, 10, 10), np.float32)
    z[3:6, 3:6, 3:6] = 5.0
    z[1, 1, 1] = 0.5
    nib.save(nib.Nifti1Image(z, np.diag([3.0, 3.0, 3.0, 1.0])), root / "z.nii.gz")
    (root / "maps.yaml").write_text(
        "model:\n  level: maps\n  space: null\n"
        "  maps: [{name: planted, path: z.nii.gz, stat: z}]\n"
        "corrections: [{method: uncorrected, alpha: 0.001}]\nreport: {formats: [html]}\n"
    )
    assert main(["run", str(root / "maps.yaml"), "--out", str(root / "results"), "-q"]) == 0
    return root / "results"


def test_maps_level_report(maps_run: Path):
    summary = read_summary(maps_run)
    assert summary.model.level == "maps" and summary.model.maps[0].stat == "z"
    assert summary.contrasts[0].maps.effect is None and summary.design_matrix is None
    assert summary.report.html == "report.html" and (maps_run / "report.html").is_file()
    model = build_report_model(maps_run)
    assert model.level == "maps" and model.design is None and model.dof is None
    assert "Design matrix file not found." in model.warnings
    assert dict(model.facts)["Model"] == "existing statistical maps"
    section = model.contrasts[0].corrections[0]
    assert section.n_voxels == 27 and section.survives and section.glass_brain is not None
    assert model.contrasts[0].stat_label == "t(?)"  # a z map: infinite dof
    assert design_figures(summary, _Ctx()) == (None, (), ())


class _Ctx:
    """No design file to read: design_figures returns before it draws."""

    layout = None
    dpi = 50.0

    def path(self, rel, what):
        return None
