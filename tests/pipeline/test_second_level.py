"""Second-level preparation: inputs, mask, design, fit and contrasts."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.tiny_study import config_text, write_tiny_study

from glmreport.config.load import parse_config
from glmreport.errors import DesignError
from glmreport.pipeline.second_level import prepare_second_level


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    return folder, write_tiny_study(folder)


def test_one_sample_t_is_the_textbook_t(study):
    folder, maps = study
    prepared = prepare_second_level(parse_config(config_text(), base_dir=folder))
    (contrast,) = prepared.contrasts
    data = maps.reshape(len(maps), -1).astype(np.float64)
    expected = data.mean(axis=0) / (data.std(axis=0, ddof=1) / np.sqrt(len(maps)))
    np.testing.assert_allclose(contrast.stat, expected, rtol=1e-5)
    assert prepared.model["dof"] == len(maps) - 1 and prepared.model["columns"] == ["intercept"]
    assert prepared.model["mask"]["source"] == "auto" and prepared.masker.n_voxels == 216
    assert len(prepared.inputs) == len(maps) and all(
        len(i["sha256"]) == 64 for i in prepared.inputs
    )
    assert prepared.data.shape == (len(maps), 216)


def test_validation_builds_everything_but_the_fit(study):
    folder, _ = study
    prepared = prepare_second_level(parse_config(config_text(), base_dir=folder), fit=False)
    assert prepared.contrasts == () and prepared.fit is None
    assert prepared.design.columns.tolist() == ["intercept"]


def test_no_residual_degrees_of_freedom_is_refused(tmp_path):
    write_tiny_study(tmp_path, n=1)
    with pytest.raises(DesignError, match="residual degrees of freedom"):
        prepare_second_level(parse_config(config_text(), base_dir=tmp_path))


def test_nonsphericity_with_two_cells_is_refused_before_the_fit(tmp_path):
    from fixtures.within_subject import config_text as within_config
    from fixtures.within_subject import write_within_subject

    table = write_within_subject(tmp_path, (3, 3, 2))
    rows = table.read_text().splitlines()
    table.write_text("\n".join([rows[0], *(r for r in rows[1:] if not r.endswith("\tc"))]) + "\n")
    text = within_config(nonsphericity=True).replace(
        "  - {name: main effect, F: ['a - b', 'b - c']}\n  - {name: a minus c, t: 'a - c'}\n",
        "  - {name: a minus b, t: 'a - b'}\n",
    )
    config = parse_config(text, base_dir=tmp_path)
    with pytest.raises(DesignError, match="at least 3 within-subject cells; this design has 2"):
        prepare_second_level(config, fit=False)
