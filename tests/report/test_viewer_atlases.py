"""The viewer's atlases: found again beside the configuration, never outside it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from fixtures.report_fixtures import write_results

from glmreport import figures
from glmreport.datasets.demo_atlas import IMAGE, LABELS, NAME, sector_names, write_demo_atlas
from glmreport.outputs.summary import AtlasRecord, read_summary
from glmreport.report.context import Context
from glmreport.report.viewer_atlases import config_folder, viewer_atlases


def _record(image: str, labels: str) -> AtlasRecord:
    return AtlasRecord(
        name=NAME,
        status="ok",
        message="",
        title="",
        kind="deterministic",
        source="file",
        image=image,
        labels=labels,
        n_labels=18,
        citation="",
        doi="",
        licence="",
        space="MNI152NLin2009cAsym",
        space_note="",
    )


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Context]:
    """A config folder holding the demo's atlas and a results folder named ``results``."""
    folder = tmp_path_factory.mktemp("study")
    results = write_results(folder / "results")
    write_demo_atlas(folder)
    ctx = Context(
        results_dir=results,
        dpi=60,
        background=figures.load_background(),
        mask=None,
        mask_affine=None,
        layout=None,
    )
    return results, ctx


def test_config_folder_from_the_results_folder_name(study) -> None:
    results, _ = study
    summary = read_summary(results)
    assert config_folder(summary, results) == results.parent
    prov = summary.provenance
    for named, expected in (("out/results", results.parents[1]), ("/abs/results", None)):
        changed = dataclasses.replace(
            summary, provenance=dataclasses.replace(prov, results_folder=named)
        )
        assert config_folder(changed, results) == expected
    climbing = dataclasses.replace(
        summary, provenance=dataclasses.replace(prov, results_folder="../r")
    )
    assert config_folder(climbing, results) is None


def test_file_atlas_beside_the_config_is_read_on_the_display_grid(study) -> None:
    results, ctx = study
    summary = dataclasses.replace(read_summary(results), atlases=(_record(IMAGE, LABELS),))
    (atlas,) = viewer_atlases(summary, results, ctx)
    assert atlas.name == NAME and dict(atlas.names) == sector_names()
    # The code at a voxel of the display grid is the sector of its world coordinate.
    ijk = np.array(ctx.background.shape) // 2
    x, y, z = ctx.background.to_world(ijk)
    code = int(atlas.codes[tuple(ijk)])
    side = "Left" if x < 0 else "Right"
    assert atlas.names[code].startswith(side) and atlas.codes.shape == ctx.background.shape


@pytest.mark.parametrize("image", ["../outside.nii.gz", "/etc/passwd", "data/absent.nii.gz"])
def test_paths_out_of_the_config_folder_are_not_followed(study, image: str) -> None:
    results, ctx = study
    (results.parent.parent / "outside.nii.gz").write_bytes((results.parent / IMAGE).read_bytes())
    summary = dataclasses.replace(read_summary(results), atlases=(_record(image, LABELS),))
    assert viewer_atlases(summary, results, ctx) == []
