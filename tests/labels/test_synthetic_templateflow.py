"""The synthetic TemplateFlow tree resolves offline and mirrors the real tree's layout."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
from fixtures.synthetic_templateflow import HOCPA, HOCPA_TSV, REGION_NAMES, TEMPLATES, region_code

MASK_NLIN6 = "tpl-MNI152NLin6Asym/tpl-MNI152NLin6Asym_res-02_desc-brain_mask.nii.gz"

#: The queries glmreport and its tests make, and the file each resolves to.
QUERIES = [
    (
        {"template": "MNI152NLin6Asym", "resolution": 2, "desc": None, "suffix": "T1w"},
        "tpl-MNI152NLin6Asym/tpl-MNI152NLin6Asym_res-02_T1w.nii.gz",
    ),
    (
        {"template": "MNI152NLin6Asym", "resolution": 2, "desc": "brain", "suffix": "mask"},
        MASK_NLIN6,
    ),
    (
        {
            "template": "MNI152NLin6Asym",
            "resolution": 2,
            "atlas": "HOCPA",
            "desc": "th25",
            "suffix": "dseg",
            "extension": [".nii.gz", ".nii"],
        },
        HOCPA,
    ),
    (
        {"template": "MNI152NLin6Asym", "atlas": "HOCPA", "suffix": "dseg", "extension": ".tsv"},
        HOCPA_TSV,
    ),
    (
        {"template": "MNI152NLin2009cAsym", "resolution": 2, "desc": None, "suffix": "T1w"},
        "tpl-MNI152NLin2009cAsym/tpl-MNI152NLin2009cAsym_res-02_T1w.nii.gz",
    ),
    (
        {"template": "MNI152NLin2009cAsym", "resolution": 2, "desc": "brain", "suffix": "mask"},
        "tpl-MNI152NLin2009cAsym/tpl-MNI152NLin2009cAsym_res-02_desc-brain_mask.nii.gz",
    ),
]


def _files(home: Path) -> set[str]:
    return {str(p.relative_to(home)) for p in home.rglob("*") if p.is_file() and p.parent != home}


def test_synthetic_tree_resolves_offline(templateflow_home: Path):
    from templateflow import TemplateFlowClient  # imported once TEMPLATEFLOW_HOME is set

    client = TemplateFlowClient(root=templateflow_home)
    for query, rel in QUERIES:
        kwargs = {k: v for k, v in query.items() if k != "template"}
        assert client.get(query["template"], **kwargs) == templateflow_home / rel, query
    assert client.get("MNI152NLin6Asym", atlas="Schaefer2018", suffix="dseg") == []
    assert set(client.ls("MNI152NLin6Asym")) == {
        templateflow_home / rel for rel in _files(templateflow_home) if "NLin6Asym/" in rel
    }


def test_synthetic_atlas_labels_the_brain_shell(templateflow_home: Path):
    grid = TEMPLATES["MNI152NLin6Asym"]
    img = nib.load(templateflow_home / HOCPA)
    data = np.asanyarray(img.dataobj)
    mask = np.asanyarray(nib.load(templateflow_home / MASK_NLIN6).dataobj)
    np.testing.assert_array_equal(img.affine, grid.affine)
    assert set(np.unique(data)) == set(range(len(REGION_NAMES) + 1))
    assert not (data[mask == 0] > 0).any()  # labels only inside the brain
    assert 0.8 < (data > 0).sum() / mask.sum() < 0.95  # the core is unlabelled
    ijk = np.array([[25, 52, 64], [70, 40, 20]])
    xyz = nib.affines.apply_affine(img.affine, ijk)
    np.testing.assert_array_equal(data[tuple(ijk.T)], region_code(xyz))


def test_synthetic_tree_mirrors_real_tree(templateflow_home: Path, real_templateflow_home: Path):
    assert _files(templateflow_home) == _files(real_templateflow_home)
    for rel in sorted(_files(real_templateflow_home)):
        real, synthetic = real_templateflow_home / rel, templateflow_home / rel
        if rel.endswith(".nii.gz"):
            a, b = nib.load(real), nib.load(synthetic)
            assert a.shape == b.shape, rel
            np.testing.assert_array_equal(a.affine, b.affine, err_msg=rel)
            assert a.get_data_dtype() == b.get_data_dtype(), rel
            for key in ("sform_code", "qform_code", "xyzt_units"):
                assert int(a.header[key]) == int(b.header[key]), (rel, key)
        elif rel.endswith(".tsv"):
            header = real.read_text().splitlines()[0]
            assert synthetic.read_text().splitlines()[0] == header == "index\tname"
        elif rel.endswith(".json"):
            a, b = json.loads(real.read_text()), json.loads(synthetic.read_text())
            assert a["Identifier"] == b["Identifier"] and a["res"]["02"] == b["res"]["02"], rel
