"""BIDS key-value entities of file and folder names."""

from __future__ import annotations

from glmreport.inputs.entities import bids_entities


def test_file_entities_and_folders():
    assert bids_entities("sub-01_task-x_desc-faces_effect.nii.gz") == {
        "sub": "01",
        "task": "x",
        "desc": "faces",
    }
    # folder entities count; the file name wins
    assert bids_entities("derivs/sub-02/ses-a/sub-03_stim-FF_effect.nii") == {
        "sub": "03",
        "ses": "a",
        "stim": "FF",
    }
    assert bids_entities("plain_name.nii.gz") == {}
    assert bids_entities("sub-01/not a pair/x.nii") == {"sub": "01"}
