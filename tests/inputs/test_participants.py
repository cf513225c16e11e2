"""Reading participants.tsv and joining it onto subjects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from glmreport.datasets.study import write_participants
from glmreport.inputs.participants import (
    MissingParticipantsError,
    ParticipantsError,
    join_participants,
    read_participants,
    require_values,
)


@pytest.fixture
def participants(tmp_path: Path) -> pd.DataFrame:
    written = write_participants(tmp_path, 8, seed=0)
    assert (tmp_path / "participants.json").is_file()
    table = read_participants(tmp_path / "participants.tsv")
    assert table["sub"].tolist() == [f"{i:02d}" for i in range(1, 9)]
    np.testing.assert_array_equal(table["age"].to_numpy(), written["age"].to_numpy(float))
    return table


def test_read_types_and_missing_values(participants: pd.DataFrame):
    assert list(participants.columns) == ["sub", "age", "sex", "group", "handedness"]
    assert participants["age"].dtype == np.float64
    assert not pd.api.types.is_numeric_dtype(participants["sex"])
    assert participants["group"].tolist() == ["control", "patient"] * 4
    assert participants["handedness"].isna().tolist() == [False] * 7 + [True]


def test_ids_with_or_without_prefix_and_codes_stay_text(tmp_path: Path):
    path = tmp_path / "participants.tsv"
    path.write_text("participant_id\tsite\tscore\tiq\n1\t007\t1.5\tn/a\nsub-2\t012\t\t101\n")
    table = read_participants(path)
    assert table["sub"].tolist() == ["1", "2"]
    assert table["site"].tolist() == ["007", "012"]  # leading zeros: a code, not a number
    assert table["score"].tolist()[0] == 1.5 and np.isnan(table["score"].iloc[1])
    assert np.isnan(table["iq"].iloc[0]) and table["iq"].iloc[1] == 101.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "participant\tage\nsub-01\t3\n",
            "no participant_id column; its columns are participant, age. "
            "Did you mean 'participant'",
        ),
        ("participant_id\tage\nsub-01\t3\nsub-01\t4\n", "participants listed twice: 01"),
        ("participant_id\tage\nsub-01\t3\nsub-0_1\t4\n", "row 3: participant_id 'sub-0_1' is not"),
    ],
)
def test_read_refuses_malformed_tables(tmp_path: Path, text: str, message: str):
    path = tmp_path / "participants.tsv"
    path.write_text(text)
    with pytest.raises(ParticipantsError, match=message):
        read_participants(path)


def test_read_missing_file(tmp_path: Path):
    with pytest.raises(ParticipantsError, match="participants table not found"):
        read_participants(tmp_path / "participants.tsv")


def test_join_keeps_rows_and_matches_labels(participants: pd.DataFrame):
    table = pd.DataFrame({"path": ["a", "b", "c"], "sub": ["sub-03", "01", "08"]})
    joined = join_participants(table, participants, columns=["age", "group"])
    assert list(joined.columns) == ["path", "sub", "age", "group"]
    assert joined["path"].tolist() == ["a", "b", "c"]
    ages = participants.set_index("sub")["age"]
    assert joined["age"].tolist() == [ages["03"], ages["01"], ages["08"]]
    assert joined["group"].tolist() == ["control", "control", "patient"]
    numbers = pd.DataFrame({"sub": [1.0, 2.0]})  # a numeric column read from a table
    short = participants.assign(sub=["1", "2", "3", "4", "5", "6", "7", "8"])
    assert join_participants(numbers, short)["age"].tolist() == ages.iloc[:2].tolist()


def test_join_errors(participants: pd.DataFrame):
    table = pd.DataFrame({"sub": ["01", "09", "sub-12"]})
    with pytest.raises(MissingParticipantsError) as info:
        join_participants(table, participants, source="data/participants.tsv")
    assert str(info.value).startswith("data/participants.tsv has no row for sub-09, sub-12; ")
    with pytest.raises(ParticipantsError, match="has no column 'ages'.* Did you mean 'age'"):
        join_participants(table, participants, columns=["ages"])
    with pytest.raises(ParticipantsError, match="columns age are both in the table"):
        join_participants(table.assign(age=1.0), participants, columns=["age"])
    with pytest.raises(ParticipantsError, match="no 'subject' column"):
        join_participants(table, participants, key="subject")


def test_require_values_names_subjects_with_na(participants: pd.DataFrame):
    joined = join_participants(pd.DataFrame({"sub": ["01", "08"]}), participants)
    require_values(joined, ["age", "sex"], source="participants.tsv")
    with pytest.raises(ParticipantsError, match="'handedness' is n/a for sub-08; a covariate"):
        require_values(joined, ["age", "handedness"], source="participants.tsv")
