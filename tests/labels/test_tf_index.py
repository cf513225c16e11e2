"""TemplateFlow's index read from file names equals ``client.ls`` (what pybids indexes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from glmreport.config.atlas_registry import registry
from glmreport.labels.templateflow import _tf_client, _tf_image_query, _tf_label_queries
from glmreport.labels.tf_index import cached_listing


def _queries() -> list[dict]:
    """Every query ``atlases list`` makes, and variants on resolution, desc and extension."""
    out = []
    for entry in registry().values():
        tf = entry["templateflow"]
        images = [_tf_image_query(tf, suffix) for suffix in ("dseg", "probseg")]
        out += images + _tf_label_queries(tf, tf.get("suffix") or "dseg")
        for query in images:
            out += [{**query, "resolution": r} for r in (1, "02", None)]
            out += [{**query, "desc": None}, {**query, "extension": "nii.gz"}]
    return out


def test_listing_by_name_equals_templateflow_ls(templateflow_home):
    client, root = _tf_client()
    assert root == templateflow_home.absolute()
    found = 0
    for query in _queries():
        kwargs = {k: v for k, v in query.items() if k != "template"}
        expected = sorted(Path(p) for p in client.ls(query["template"], **kwargs))
        assert cached_listing(root, query["template"], **kwargs) == expected, query
        found += bool(expected)
    assert found >= 4  # the synthetic home holds some of them: both cases are compared


def test_listing_defers_to_templateflow_where_it_cannot_answer(tmp_path):
    assert cached_listing(tmp_path / "missing", "MNI152NLin6Asym", atlas="HOCPA") is None
    assert cached_listing(tmp_path, "MNI152NLin6Asym", atlas="HOCPA") is None  # empty home
    (tmp_path / "tpl-MNI152NLin6Asym").mkdir()
    assert cached_listing(tmp_path, "MNI152NLin6Asym", nosuch="x") is None
    assert cached_listing(tmp_path, "MNI152NLin6Asym", atlas="HOCPA") == []


@pytest.mark.parametrize(
    "ignored", ["scripts/x_atlas-HOCPA_dseg.nii.gz", ".git/x_atlas-HOCPA_dseg.nii.gz"]
)
def test_ignored_folders_are_not_listed(tmp_path, ignored):
    folder = tmp_path / "tpl-MNI152NLin6Asym"
    (folder / ignored).parent.mkdir(parents=True)
    (folder / ignored).write_bytes(b"x")
    kept = folder / "tpl-MNI152NLin6Asym_res-02_atlas-HOCPA_dseg.nii.gz"
    kept.write_bytes(b"x")
    assert cached_listing(tmp_path, "MNI152NLin6Asym", atlas="HOCPA", suffix="dseg") == [kept]
