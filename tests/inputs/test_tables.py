"""Tables (TSV/CSV, BIDS n/a) and the second-level inputs table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from glmreport.config.specs import InputsSpec
from glmreport.errors import InputError
from glmreport.inputs.tables import read_inputs_table


def test_inputs_table_tsv_relative_paths_and_types(tmp_path):
    (tmp_path / "t.tsv").write_text("path\tsubject\tage\na.nii.gz\t01\t30\nb.nii.gz\t02\t41\n")
    table = read_inputs_table(InputsSpec(kind="table", table=tmp_path / "t.tsv"))
    assert table["path"].tolist() == [str(tmp_path / "a.nii.gz"), str(tmp_path / "b.nii.gz")]
    assert table["subject"].tolist() == ["01", "02"]  # identifiers stay text
    assert table["age"].tolist() == [30.0, 41.0]


def test_inputs_table_without_path_column(tmp_path):
    (tmp_path / "t.csv").write_text("file,age\na.nii,3\n")
    with pytest.raises(InputError, match="no 'path' column; its columns are: file, age"):
        read_inputs_table(InputsSpec(kind="table", table=tmp_path / "t.csv"))


def test_inputs_glob_bids_entities(tmp_path):
    for sub in ("01", "02"):
        for cond in ("faces", "houses"):
            d = tmp_path / f"sub-{sub}"
            d.mkdir(exist_ok=True)
            (d / f"sub-{sub}_task-x_desc-{cond}_effect.nii.gz").write_bytes(b"")
    table = read_inputs_table(
        InputsSpec(kind="glob", pattern="sub-*/*_desc-*_effect.nii.gz", base_dir=tmp_path)
    )
    assert len(table) == 4
    assert table["sub"].tolist() == ["01", "01", "02", "02"]
    assert table["desc"].tolist() == ["faces", "houses", "faces", "houses"]
    assert table["task"].unique().tolist() == ["x"]


def test_glob_without_match(tmp_path):
    with pytest.raises(InputError, match="no file matches"):
        read_inputs_table(InputsSpec(kind="glob", pattern="*.nii", base_dir=tmp_path))


def test_na_cells_are_missing_and_numbers_in_any_notation(tmp_path):
    (tmp_path / "t.tsv").write_text(
        "path\tsubject\tage\tscore\tsite\tempty\n"
        "a.nii.gz\t01\t30\t1e-3\tx\tn/a\n"
        "b.nii.gz\tn/a\tn/a\t1E+2\t\tn/a\n"
        "c.nii.gz\t03\t41\t.5\ty\t\n"
    )
    table = read_inputs_table(InputsSpec(kind="table", table=tmp_path / "t.tsv"))
    assert table["subject"].tolist()[::2] == ["01", "03"]  # identifiers stay text
    assert pd.isna(table["subject"][1]) and pd.isna(table["site"][1])
    np.testing.assert_array_equal(table["age"], [30.0, np.nan, 41.0])  # n/a: still numeric
    assert table["score"].tolist() == [0.001, 100.0, 0.5]
    assert table["empty"].isna().all()


def test_inline_inputs_na_and_missing_path(tmp_path):
    rows = ({"path": "a.nii", "age": "n/a"}, {"path": "b.nii", "age": 1e3})
    table = read_inputs_table(InputsSpec(kind="list", rows=rows, base_dir=tmp_path))
    assert np.isnan(table["age"][0]) and table["age"][1] == 1000.0
    (tmp_path / "t.tsv").write_text("path\tage\na.nii\t1\nn/a\t2\n")
    with pytest.raises(InputError, match=r"t.tsv: row 2 has no path"):
        read_inputs_table(InputsSpec(kind="table", table=tmp_path / "t.tsv"))
