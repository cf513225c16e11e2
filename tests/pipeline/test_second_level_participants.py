"""``participants: path`` for a second-level model: participants.tsv joins the inputs' ``sub``."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.tiny_study import write_tiny_study

from glmreport.config.load import parse_config
from glmreport.inputs.participants import MissingParticipantsError, ParticipantsError
from glmreport.pipeline.second_level import prepare_second_level

TEXT = """\
title: tiny
model:
  inputs: {inputs}
  covariates: [age]
  space: null
{extra}contrasts: [{{name: effect, t: intercept}}, {{name: age, t: age}}]
corrections: [{{method: uncorrected, alpha: 0.001}}]
report: {{formats: []}}
"""


@pytest.fixture()
def study(tmp_path):
    maps = write_tiny_study(tmp_path, n=8)
    rows = ["participant_id\tage\tsex"] + [f"sub-{i + 1:02d}\t{20 + i}\tF" for i in range(8)]
    rows.append("sub-99\tn/a\tM")  # a participant without a map is ignored
    (tmp_path / "participants.tsv").write_text("\n".join(rows) + "\n")
    return tmp_path, maps


def _config(folder, inputs='{glob: "sub-*_effect.nii.gz"}', participants="participants.tsv"):
    extra = f"  participants: {participants}\n" if participants else ""
    return parse_config(TEXT.format(inputs=inputs, extra=extra), base_dir=folder)


def test_covariates_come_from_participants(study):
    folder, maps = study
    joined = prepare_second_level(_config(folder))
    copied = prepare_second_level(_config(folder, inputs="inputs.tsv", participants=None))
    for a, b in zip(joined.contrasts, copied.contrasts, strict=True):
        np.testing.assert_allclose(a.stat, b.stat, rtol=1e-10)
    # the reference: least squares of every voxel on [1, centred age]
    age = 20.0 + np.arange(8)
    X = np.column_stack([np.ones(8), age - age.mean()])
    beta = np.linalg.lstsq(X, maps.reshape(8, -1).astype(float), rcond=None)[0]
    np.testing.assert_allclose(joined.contrasts[1].effect.ravel(), beta[1], rtol=1e-5, atol=1e-6)
    assert joined.design.columns.tolist() == ["intercept", "age"]
    assert [row["sex"] for row in joined.inputs] == ["F"] * 8


def test_a_subject_missing_from_participants_is_named(study):
    folder, _ = study
    text = (folder / "participants.tsv").read_text().replace("sub-03\t22\tF\n", "")
    (folder / "participants.tsv").write_text(text)
    with pytest.raises(MissingParticipantsError, match="no row for sub-03"):
        prepare_second_level(_config(folder), fit=False)


def test_a_covariate_that_is_na_is_named(study):
    folder, _ = study
    text = (folder / "participants.tsv").read_text().replace("sub-05\t24", "sub-05\tn/a")
    (folder / "participants.tsv").write_text(text)
    with pytest.raises(ParticipantsError, match="'age' is n/a for sub-05"):
        prepare_second_level(_config(folder), fit=False)


def test_inputs_without_a_subject_entity_are_refused(study):
    folder, _ = study
    with pytest.raises(ParticipantsError, match="no 'sub' column"):
        prepare_second_level(_config(folder, inputs="inputs.tsv"), fit=False)
