"""Selecting fMRIPrep confounds: globs, unknown names, n/a filling and scrubbing."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from glmreport.datasets.study import TASK, write_study
from glmreport.inputs.confounds import (
    ConfoundError,
    UnknownConfoundError,
    confound_columns,
    confound_values,
    read_confounds,
    select_study_confounds,
    spike_regressors,
    study_confounds_table,
)

RUN = f"sub-01_task-{TASK}_run-1"


@pytest.fixture(scope="module")
def confounds_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_study(
        tmp_path_factory.mktemp("study") / "bids",
        n_subjects=1,
        n_runs=1,
        n_scans=80,
        shape=(8, 8, 8),
        voxel_mm=10.0,
    )
    path = root / "derivatives" / "fmriprep" / "sub-01" / "func"
    return path / f"{RUN}_desc-confounds_timeseries.tsv"


@pytest.fixture(scope="module")
def table(confounds_path: Path) -> pd.DataFrame:
    return read_confounds(confounds_path)


def test_names_and_globs_keep_the_file_order(table: pd.DataFrame):
    patterns = ["rot_?", "a_comp_cor_0[0-4]", "trans_x", "trans_y*"]
    frame, notes = select_study_confounds(table, patterns, source=RUN)
    assert list(frame.columns) == [
        "a_comp_cor_00",
        "a_comp_cor_01",
        "a_comp_cor_02",
        "a_comp_cor_03",
        "a_comp_cor_04",
        "trans_x",
        "trans_y",
        "trans_y_derivative1",
        "trans_y_power2",
        "trans_y_derivative1_power2",
        "rot_x",
        "rot_y",
        "rot_z",
    ]
    assert frame.dtypes.eq(np.float64).all() and len(frame) == 80
    expected = pd.to_numeric(table["a_comp_cor_03"]).to_numpy()
    np.testing.assert_array_equal(frame["a_comp_cor_03"].to_numpy(), expected)
    assert notes == (
        f"{RUN}: leading n/a set to 0 in the first 1 scan(s) of trans_y_derivative1, "
        "trans_y_derivative1_power2",
    )


def test_leading_na_become_zero_like_first_level_from_bids(table: pd.DataFrame):
    frame, _ = select_study_confounds(
        table, ["*_derivative1", "framewise_displacement"], source=RUN
    )
    assert len(frame.columns) == 10  # 9 expanded regressors' derivative1 + FD
    # nilearn's first_level_from_bids: read with pandas (n/a -> NaN), first row's NaN -> 0
    nilearn_rule = pd.read_csv(io.StringIO(table.to_csv(sep="\t", index=False)), sep="\t")[
        list(frame.columns)
    ]
    assert nilearn_rule.iloc[0].isna().all()
    nilearn_rule.iloc[0] = nilearn_rule.iloc[0].fillna(0.0)
    np.testing.assert_array_equal(frame.to_numpy(), nilearn_rule.to_numpy())
    assert (frame.iloc[0] == 0).all() and (frame.iloc[1:] != 0).any().all()


def test_unknown_name_suggests_the_nearest(table: pd.DataFrame):
    with pytest.raises(UnknownConfoundError) as info:
        select_study_confounds(table, ["trans_x", "tran_y"], source=RUN)
    message = str(info.value)
    assert message.startswith(f"{RUN}: no confound column 'tran_y' in the confounds table.")
    assert "Did you mean 'trans_y'?" in message
    assert "Its columns include: global_signal, " in message
    with pytest.raises(UnknownConfoundError, match="no confound pattern 'c_comp_cor_\\*'"):
        select_study_confounds(table, ["c_comp_cor_*"], source=RUN)
    with pytest.raises(ConfoundError, match="a list of at most"):
        select_study_confounds(table, "trans_x", source=RUN)
    with pytest.raises(ConfoundError, match="has 80 rows but the run has 81 scans"):
        select_study_confounds(table, ["trans_x"], source=RUN, n_scans=81)
    assert len(select_study_confounds(table, ["trans_x"], source=RUN, n_scans=80)[0]) == 80


def test_na_after_the_start_or_text_is_refused():
    table = pd.DataFrame({"a": ["n/a", "1", "n/a", "2"], "b": ["1", "x", "2", "3"]})
    with pytest.raises(ConfoundError, match="'a' is n/a or infinite at scans 3;"):
        select_study_confounds(table, ["a"], source=RUN)
    with pytest.raises(ConfoundError, match="'b' must hold numbers or n/a; scans 2 hold 'x'"):
        select_study_confounds(table, ["b"], source=RUN)
    everywhere = pd.DataFrame({"c": ["n/a"] * 3})
    with pytest.raises(ConfoundError, match="'c' is n/a in every scan"):
        select_study_confounds(everywhere, ["c"], source=RUN)
    numeric = pd.DataFrame({"d": [np.nan, np.nan, 1.5, 2.0]})
    frame, notes = select_study_confounds(numeric, ["d"], source=RUN)
    assert frame["d"].tolist() == [0.0, 0.0, 1.5, 2.0]
    assert notes == (f"{RUN}: leading n/a set to 0 in the first 2 scan(s) of d",)


@pytest.mark.parametrize("threshold", [0.5, 0.12, 0.08])
def test_scrubbing_adds_one_spike_per_scan_above_the_threshold(table: pd.DataFrame, threshold):
    fd = pd.to_numeric(table["framewise_displacement"], errors="coerce").to_numpy()
    flagged = np.flatnonzero(fd > threshold)  # NaN (scan 1) compares False
    frame, notes = select_study_confounds(table, ["trans_?"], source=RUN, fd_threshold=threshold)
    spikes = frame.iloc[:, 3:]
    assert list(spikes.columns) == [f"motion_outlier{k:02d}" for k in range(flagged.size)]
    assert spikes.shape[1] == (fd > threshold).sum()
    np.testing.assert_array_equal(spikes.to_numpy().argmax(axis=0), flagged)
    np.testing.assert_array_equal(spikes.to_numpy().sum(axis=0), np.ones(flagged.size))
    assert notes[-1].startswith(f"{RUN}: {flagged.size} of 80 scans have framewise displacement")
    assert 0 not in flagged


def test_spike_regressors_edge_cases():
    fd = np.array([np.nan, 0.1, 0.9, 0.6, 0.2])
    spikes = spike_regressors(fd, 0.5)
    assert list(spikes.columns) == ["motion_outlier00", "motion_outlier01"]
    assert spikes.to_numpy().tolist() == [[0, 0], [0, 0], [1, 0], [0, 1], [0, 0]]
    assert spike_regressors(fd, 5.0).shape == (5, 0)
    many = spike_regressors(np.ones(120), 0.5)
    assert many.columns[0] == "motion_outlier000" and many.columns[-1] == "motion_outlier119"


def test_scrubbing_errors(table: pd.DataFrame):
    with pytest.raises(ConfoundError, match="threshold must be a number of mm > 0; got -1"):
        select_study_confounds(table, ["trans_x"], source=RUN, fd_threshold=-1)
    no_fd = table.drop(columns="framewise_displacement")
    with pytest.raises(UnknownConfoundError, match="scrubbing needs a framewise_displacement"):
        select_study_confounds(no_fd, ["trans_x"], source=RUN, fd_threshold=0.5)
    with_spike = table.assign(motion_outlier00=["0"] * 79 + ["1"], framewise_displacement="9")
    with pytest.raises(ConfoundError, match="select fMRIPrep's motion_outlier\\* columns or scrub"):
        select_study_confounds(with_spike, ["motion_outlier*"], source=RUN, fd_threshold=0.5)


def test_read_confounds_errors(tmp_path: Path):
    with pytest.raises(ConfoundError, match="cannot read confounds table"):
        read_confounds(tmp_path / "absent.tsv")
    empty = tmp_path / "empty.tsv"
    empty.write_text("trans_x\ttrans_y\n")
    with pytest.raises(ConfoundError, match="has no rows"):
        read_confounds(empty)
    with pytest.raises(ConfoundError, match="has no rows"):
        read_confounds(empty, nrows=1)  # the header check of a study's plan
    full = tmp_path / "full.tsv"
    full.write_text("trans_x\ttrans_y\n1\t2\n3\tn/a\n")
    head = read_confounds(full, nrows=1)
    assert list(head.columns) == ["trans_x", "trans_y"] and len(head) == 1
    assert read_confounds(full).equals(pd.concat([head, read_confounds(full).iloc[1:]]))


@pytest.mark.parametrize(
    "text",
    [
        "trans_x\ttrans_y\n1\t2\n",
        "trans_x\ttrans_y\r\n1\t2\r\n",
        " trans_x \ttrans y\n1\t2\n",  # spaces are part of the names
        "a\ta\n1\t2\n",  # repeated: pandas renames the second a.1
        "a\t\tb\n1\t2\t3\n",  # an empty name: pandas calls it Unnamed: 1
        "\ufeffa\tb\n1\t2\n",  # a byte-order mark
        '"a\tb"\tc\n1\t2\n',  # a quoted tab
        "a\tb\n\n1\t2\n",  # a blank line before the first row
        "a\tb\n\t\n",  # a row of empty cells
        "a\tb\n" + "1\t2\n" * 3,
        "a\tb",  # no row
        "a\tb\n",
        "a\tb\n\n",
        "",
        'a\tb\n"1\t2\n',  # an unclosed quote in the first row
        "  \na\tb\n1\t2\n",  # a header line of spaces: pandas skips it
        "   \n1\t2\n",
        "  \r\na\tb\r\n1\t2\r\n",
        "\t\na\tb\n1\t2\n",
    ],
)
def test_confound_columns_are_those_of_the_full_read(tmp_path: Path, text: str):
    path = tmp_path / "c.tsv"
    path.write_bytes(text.encode("utf-8"))
    try:
        expected = [str(c) for c in read_confounds(path, nrows=1).columns]
    except ConfoundError as exc:
        with pytest.raises(ConfoundError) as caught:
            confound_columns(path)
        assert str(caught.value) == str(exc)
    else:
        assert confound_columns(path) == expected


def test_confound_columns_errors(tmp_path: Path):
    with pytest.raises(ConfoundError, match="cannot read confounds table"):
        confound_columns(tmp_path / "absent.tsv")
    latin = tmp_path / "latin.tsv"
    latin.write_bytes("caf\xe9\tb\n1\t2\n".encode("latin-1"))
    with pytest.raises(ConfoundError, match="cannot read confounds table"):
        confound_columns(latin)


@pytest.mark.parametrize("scrub", [None, 0.5])
def test_a_runs_columns_alone_give_the_selection_of_the_whole_table(confounds_path: Path, scrub):
    """Reading only the matched columns and FD: the same confounds, spikes and notes."""
    path = confounds_path
    patterns = ["trans_*", "rot_?", "a_comp_cor_0[0-2]"]
    whole = select_study_confounds(
        read_confounds(path), patterns, source=RUN, fd_threshold=scrub, n_scans=80
    )
    table = study_confounds_table(path, patterns, scrub=scrub is not None, source=RUN)
    assert "framewise_displacement" in table.columns
    assert set(table.columns) < set(read_confounds(path).columns)
    part = select_study_confounds(table, patterns, source=RUN, fd_threshold=scrub, n_scans=80)
    pd.testing.assert_frame_equal(part[0], whole[0])
    assert part[1] == whole[1]


def test_a_runs_columns_are_checked_with_the_whole_header(tmp_path: Path, confounds_path: Path):
    path = confounds_path
    with pytest.raises(UnknownConfoundError) as whole:
        select_study_confounds(read_confounds(path), ["trans_q"], source=RUN)
    table = study_confounds_table(path, ["trans_q"], scrub=False, source=RUN)
    pd.testing.assert_frame_equal(table, read_confounds(path))  # read whole, to be refused
    with pytest.raises(UnknownConfoundError) as part:
        select_study_confounds(table, ["trans_q"], source=RUN)
    assert str(part.value) == str(whole.value)
    # no framewise displacement to scrub with: the whole table, for its nearest names
    no_fd = tmp_path / "no_fd.tsv"
    no_fd.write_text(path.read_text().replace("framewise_displacement", "fd_power"))
    table = study_confounds_table(no_fd, ["trans_x"], scrub=True, source=RUN)
    pd.testing.assert_frame_equal(table, read_confounds(no_fd))
    # repeated names, which pandas renames: the whole table
    repeated = tmp_path / "repeated.tsv"
    repeated.write_text("trans_x\ttrans_x\tframewise_displacement\n1\t2\tn/a\n")
    table = study_confounds_table(repeated, ["trans_x*"], scrub=False, source=RUN)
    assert list(table.columns) == ["trans_x", "trans_x.1", "framewise_displacement"]


def test_a_file_read_in_part_has_the_errors_of_the_whole_file(tmp_path: Path):
    """pandas ignores a row's extra cells outside the columns it reads: such a file, and one
    with two faults, is read whole, so its errors are those of the whole file, in order."""
    ragged = tmp_path / "ragged.tsv"
    ragged.write_text("trans_x\ttrans_y\tframewise_displacement\tcsf\n1\t2\tn/a\t4\n")
    with ragged.open("a") as fh:
        fh.write("5\t6\t0.3\t7\t8\n")  # a stray tab in the last row
    with pytest.raises(ConfoundError) as whole:
        read_confounds(ragged)
    with pytest.raises(ConfoundError) as part:
        study_confounds_table(ragged, ["trans_?"], scrub=False, source=RUN)
    assert "cannot read confounds table" in str(part.value)
    assert str(part.value) == str(whole.value)
    latin = tmp_path / "latin.tsv"  # a byte that is not UTF-8, in a later row
    latin.write_bytes(b"trans_x\tframewise_displacement\n1\tn/a\n2\t0.1\n3\tcaf\xe9\n")
    with pytest.raises(ConfoundError) as whole:
        read_confounds(latin)
    with pytest.raises(ConfoundError) as part:
        study_confounds_table(latin, ["trans_?"], scrub=False, source=RUN)
    assert str(part.value) == str(whole.value)
    two_faults = tmp_path / "two_faults.tsv"
    two_faults.write_text("trans_x\tframewise_displacement\n1\tn/a\n2\t0.1\n")
    with pytest.raises(ConfoundError) as expected:
        select_study_confounds(read_confounds(two_faults), ["nope"], source=RUN, n_scans=3)
    table = study_confounds_table(two_faults, ["nope"], scrub=False, source=RUN)
    with pytest.raises(ConfoundError) as got:
        select_study_confounds(table, ["nope"], source=RUN, n_scans=3)
    assert "2 rows but the run has 3 scans" in str(got.value) == str(expected.value)


def test_confound_values_in_one_pass_equal_column_by_column():
    from glmreport.inputs import confounds as module

    table = pd.DataFrame(
        {
            "a": ["n/a", "0.1", " 2e-3 ", "7"],
            "b": ["1", "", "3.25", "-0.5"],
            "c": ["1", "2", "3", "4"],
        }
    )
    batch = confound_values(table, ["c", "a", "b"], source=RUN)
    assert list(batch.columns) == ["c", "a", "b"]
    for col in ("a", "b", "c"):
        np.testing.assert_array_equal(batch[col].to_numpy(), module._as_floats(table[col]))
    assert np.isnan(batch["a"].iloc[0]) and np.isnan(batch["b"].iloc[1])
    # a literal nan or an overflow leaves the one-pass path: each column decides as before
    odd = table.assign(a=["n/a", "+nan", "1", "2"], b=["1e999", "1", "2", "3"])
    assert module._as_float_table(odd, ["a", "b"]) is None
    values = confound_values(odd, ["b"], source=RUN)["b"].to_numpy()
    assert values[0] == np.inf and values[1:].tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(ConfoundError, match="must hold numbers or n/a"):
        confound_values(table.assign(a=["n/a", "x", "1", "2"]), ["a"], source=RUN)
