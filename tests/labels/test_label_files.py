"""Label names from TSV/CSV tables, FSL XML and lookup tables."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.atlas_files import file_spec, save_image
from fixtures.synthetic_templateflow import HOCPA, HOCPA_TSV, REGION_NAMES

from glmreport.errors import AtlasError
from glmreport.labels.atlas import load_atlases
from glmreport.labels.label_files import read_label_file

# ---------------------------------------------------------------------------- label files


def test_label_file_formats(tmp_path, templateflow_home):
    tsv = read_label_file(templateflow_home / HOCPA_TSV)
    assert tsv == dict(enumerate(REGION_NAMES, start=1))
    csv_file = tmp_path / "l.csv"
    csv_file.write_text("Index,Name,colour\n1,Left Thing,#fff\n2,Right Thing,#000\n")
    assert read_label_file(csv_file) == {1: "Left Thing", 2: "Right Thing"}
    lut = tmp_path / "l.txt"
    lut.write_text(
        "# FreeSurfer-like lookup table\n0 Unknown 0 0 0 0\n"
        "1 Left Precentral Gyrus 220 20 10 0\n2 Area 44 10 10 10 0\n3 Plain\n"
    )
    assert read_label_file(lut) == {
        0: "Unknown",
        1: "Left Precentral Gyrus",
        2: "Area 44",
        3: "Plain",
    }
    xml = tmp_path / "l.xml"
    xml.write_text(
        '<?xml version="1.0"?><atlas><header><type>Label</type></header><data>'
        '<label index="0" x="0" y="0" z="0">Unclassified</label>'
        '<label index="1" x="1" y="1" z="1">Thing one</label></data></atlas>'
    )
    assert read_label_file(xml) == {0: "Unclassified", 1: "Thing one"}
    rgb = tmp_path / "rgb.lut"
    rgb.write_text("1 Precentral 220 20 10\n2 Area 44 10 10 10\n")
    assert read_label_file(rgb) == {1: "Precentral", 2: "Area 44"}
    aal = tmp_path / "aal.txt"
    aal.write_text("1 Precentral_L 2001\n2 Precentral_R 2002\n")
    assert read_label_file(aal) == {1: "Precentral_L 2001", 2: "Precentral_R 2002"}
    tabbed_txt = tmp_path / "tabbed.txt"
    tabbed_txt.write_text("index\tname\n5\tFive\n")
    assert read_label_file(tabbed_txt) == {5: "Five"}


def test_fsl_xml_labels_for_file_atlas(tmp_path):
    data = np.zeros((6, 6, 6), dtype=np.int16)
    data[:3] = 1  # summary image of a probabilistic atlas: value = XML index + 1
    data[3:] = 2
    image = save_image(data, np.eye(4), tmp_path / "summary.nii.gz")
    xml = tmp_path / "atlas.xml"
    xml.write_text(
        "<atlas><header><type>Probabilistic</type></header><data>"
        '<label index="0">Zero</label><label index="1">One</label></data></atlas>'
    )
    (atlas,) = load_atlases([file_spec(image, xml)], data_space=None)
    assert atlas.names == {1: "Zero", 2: "One"}


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("binary.tsv", b"\xff\xfe\x00\x81\x9f garbage", "cannot be read as text"),
        ("cols.tsv", b"id\tlabel\n1\tA\n", "expected a header with 'index' and 'name'"),
        ("noint.csv", b"index,name\none,A\n", "index 'one' is not an integer"),
        ("dup.tsv", b"index\tname\n1\tA\n1\tB\n", "index 1 appears twice"),
        ("bad.xml", b"<atlas><data><label index='1'>A</label>", "cannot be read"),
        ("bad.txt", b"Precentral 1 2 3\n", "expected 'index name"),
    ],
)
def test_unreadable_label_file(tmp_path, templateflow_home, name, content, match):
    path = tmp_path / name
    path.write_bytes(content)
    spec = file_spec(templateflow_home / HOCPA, path, where="atlases[4]")
    with pytest.raises(
        AtlasError, match=rf"^atlases\[4\]: (label file|FSL atlas XML) .*{name}.*{match}"
    ):
        load_atlases([spec], data_space=None)
