"""Report: model building, HTML (one file, escaped, nothing fetched) and PDF."""

from __future__ import annotations

import json
import math
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from report_fixtures import CONTRAST_NAMES, SCRIPT_NAME, write_results

from glmreport import report
from glmreport.errors import InputError


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_results(tmp_path_factory.mktemp("report") / "results")


@pytest.fixture(scope="module")
def summary(results: Path) -> dict:
    return json.loads((results / "summary.json").read_text())


@pytest.fixture(scope="module")
def model(results: Path) -> report.ReportModel:
    return report.build_report_model(results)


@pytest.fixture(scope="module")
def html(model: report.ReportModel) -> str:
    return report.render_html(model)


class _Collector(HTMLParser):
    """Collects elements by id, every attribute value, and script/style text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []  # (tag, name, value)
        self.tags: list[str] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            self.attrs.append((tag, name, value or ""))
            if name == "id":
                self.ids.append(value or "")

    def handle_data(self, data):
        self.texts.append(data)


def _parse(html: str) -> _Collector:
    parser = _Collector()
    parser.feed(html)
    return parser


def _section(html: str, anchor: str) -> str:
    """The HTML of the <section id=anchor> (sections of one level do not nest)."""
    start = html.index(f'<section id="{anchor}"')
    end = html.index("</section>", start)
    return html[start:end]


def test_model_has_every_contrast_and_correction(model, summary):
    assert [c.name for c in model.contrasts] == list(CONTRAST_NAMES)
    for contrast, entry in zip(model.contrasts, summary["contrasts"], strict=True):
        assert [k.desc for k in contrast.corrections] == [k["desc"] for k in entry["corrections"]]
        for section, k in zip(contrast.corrections, entry["corrections"], strict=True):
            assert section.n_voxels == k["n_voxels"]
            assert section.n_clusters == k["n_clusters"]
            assert section.threshold_z == pytest.approx(k["threshold_z"])
            assert section.threshold_stat == pytest.approx(k["threshold_stat"])
    assert len(model.summary_rows) == 9
    assert model.n_inputs == 16 and model.dof == 13.0
    assert model.contrasts[2].stat_label == "F(2, 13)"
    with pytest.raises(AttributeError):
        model.title = "changed"  # frozen


def test_sections_images_and_tables_for_every_contrast_and_correction(model, html):
    parsed = _parse(html)
    for contrast in model.contrasts:
        assert contrast.anchor in parsed.ids
        assert contrast.histogram is not None and contrast.matrix is not None
        for k in contrast.corrections:
            assert k.anchor in parsed.ids
            part = _section(html, k.anchor)
            if k.survives:
                assert part.count("<img ") >= 3, k.anchor  # glass brain, slices, thumbnails
                assert 'class="data clusters"' in part and 'class="data peaks"' in part
                n_rows = part.split('class="data clusters"')[1].split("</table>")[0].count("<tr")
                assert n_rows == min(k.n_clusters, report.MAX_CLUSTER_ROWS) + 1  # + header
            else:
                assert "<img " not in part
                assert "nothing survives" in part.lower()
    # The summary box lists every contrast x correction with counts or "nothing survives".
    summary_html = _section(html, "summary")
    assert summary_html.count("nothing survives") == 1
    for row in model.summary_rows:
        assert f'href="#{row.anchor}"' in summary_html


def test_nothing_survives_renders_cleanly(model, html):
    bonferroni = model.contrasts[1].corrections[1]
    assert bonferroni.method == "bonferroni" and not bonferroni.survives
    assert bonferroni.glass_brain is None and bonferroni.clusters is not None
    assert bonferroni.clusters.rows == ()
    part = _section(html, bonferroni.anchor)
    assert "Nothing survives this correction" in part


def test_methods_names_every_correction_and_cites(model, html):
    methods = " ".join(model.methods)
    for contrast in model.contrasts:
        assert contrast.name in methods
        for k in contrast.corrections:
            assert k.title in methods
    for phrase in (
        "glmreport 0.1.0",
        "8 mm FWHM",
        "237\u2009473 voxels",
        "13 residual degrees",
        "Benjamini",
        "permutation",
        "random field theory",
        "all-resolution",
        "Desikan",
        "MNI152NLin2009cAsym",
    ):
        assert phrase in methods, phrase
    assert "z > 3.30, t(13) > " in methods  # thresholds on both scales
    assert "26-connectivity" in methods and "at least 8 mm" in methods
    assert "@article{bh1995," in model.bibtex and "@misc{atlas_harvard_oxford_cortical," in (
        model.bibtex
    )
    part = _section(html, "methods")
    assert "BibTeX" in part and "@article{nichols2002," in part


def test_user_strings_are_escaped(html):
    assert SCRIPT_NAME not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    parsed = _parse(html)
    assert parsed.tags.count("script") == 1  # ours, at the end of <body>
    # The name also reaches the config text verbatim, the methods and the TOC, escaped.
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 5


def test_single_file_without_network_references(html):
    # Strict: no web address anywhere in the document, not even as text.
    assert "http://" not in html and "https://" not in html
    parsed = _parse(html)
    for tag, name, value in parsed.attrs:
        if name == "src":
            assert value.startswith("data:image/png;base64,"), (tag, value[:40])
        if name == "href":
            assert value.startswith("#"), (tag, value)
    assert "<link" not in html
    assert "url(" not in html and "@import" not in html
    assert "<iframe" not in html and "srcset" not in html


def test_embedded_images_and_size(html):
    uris = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(uris) >= 30
    import base64

    for uri in uris:
        data = base64.b64decode(uri)
        assert data.startswith(b"\x89PNG") and b"http" not in data
    assert len(html.encode("utf-8")) <= 5 * 1024 * 1024


def test_tables_show_extra_columns_and_missing_values(model, html):
    fdr = model.contrasts[0].corrections[0]
    headers = [c.header for c in fdr.clusters.columns]
    assert headers[:9] == [
        "Cluster",
        "Sign",
        "Voxels",
        "Volume (mm\u00b3)",
        "x",
        "y",
        "z",
        "Peak z",
        "Peak t",
    ]
    assert "harvard-oxford-cortical" in headers
    assert "harvard-oxford-cortical composition" in headers
    ari = model.contrasts[2].corrections[1]
    assert "TDP \u2265" in [c.header for c in ari.clusters.columns]
    assert "Peak F" in [c.header for c in ari.clusters.columns]
    perm = model.contrasts[0].corrections[1]
    p_col = [c.key for c in perm.clusters.columns].index("p_fwe")
    assert perm.clusters.rows[-1][p_col] is None  # NaN in the TSV
    part = _section(html, perm.anchor).split('class="data clusters"')[1].split("</table>")[0]
    last_row = part.split("<tr")[-1]
    assert "\u2014" in last_row
    assert "n/a" not in part and "nan" not in part.lower().replace("nan-", "")


def test_method_partials(model, html):
    perm = _section(html, model.contrasts[0].corrections[1].anchor)
    assert "Permutation null distribution" in perm and 'class="fig null"' in perm
    assert "maximum |t|" in perm and "critical value" in perm
    rft = _section(html, model.contrasts[0].corrections[2].anchor)
    assert "Random field theory" in rft and "Resels" in rft and "Expected clusters" in rft
    ari = _section(html, model.contrasts[2].corrections[1].anchor)
    assert "true discovery proportion" in ari
    cluster_perm = _section(html, model.contrasts[1].corrections[2].anchor)
    assert "maximum cluster size (voxels)" in cluster_perm


def test_provenance(html, summary):
    part = _section(html, "provenance")
    for entry in summary["inputs"]:
        assert entry["sha256"] in part
    assert "glmreport run analysis.yaml -o results" in part
    assert "n_perm: 1000" in part  # config verbatim
    assert "button press/permMaxT" in part and ">42<" in part  # seeds


def test_filters():
    assert report.fmt_p(0.0312) == "0.031"
    assert report.fmt_p(4e-5) == "4.0e-05"
    assert report.fmt_p(float("nan")) == "\u2014"
    assert report.fmt_p(None) == "\u2014"
    assert report.fmt_stat(-3.14159) == "\u22123.14"
    assert report.fmt_coord(-0.04) == "0" and report.fmt_coord(12.5) == "12.5"
    assert report.fmt_int(237473) == "237\u2009473"
    assert report.fmt_cell(math.nan, "text") == "\u2014"
    assert report.fmt_cell("n/a", "text") == "\u2014"
    assert report.fmt_value([8.4, 8.9, 8.1]) == "8.4, 8.9, 8.1"
    assert report.fmt_value(True) == "yes"
    assert report.fmt_seconds(72.4) == "1 min 12 s"


def test_missing_files_render_with_notes(results, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(results, broken)
    summary = json.loads((broken / "summary.json").read_text())
    first = summary["contrasts"][0]
    (broken / first["corrections"][0]["map"]).unlink()
    (broken / first["corrections"][1]["peaks_table"]).unlink()
    (broken / first["maps"]["z"]).unlink()
    (broken / "design_matrix.tsv").unlink()
    # Fields a later method might not write at all.
    for key in ("threshold_z", "threshold_stat", "params", "extras", "arrays"):
        summary["contrasts"][2]["corrections"][2].pop(key, None)
    summary["contrasts"][2]["corrections"][2]["method"] = "futureMethod"
    summary.pop("provenance")
    (broken / "summary.json").write_text(json.dumps(summary))
    model = report.build_report_model(broken)
    html = report.render_html(model)
    notes = " ".join(model.warnings)
    assert "not found" in notes and "z map not found" in notes
    assert model.design is None and model.contrasts[0].histogram is None
    assert model.contrasts[0].corrections[0].glass_brain is None
    assert "no voxel-height threshold" in _section(html, model.contrasts[2].corrections[2].anchor)


def test_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        report.build_report_model(tmp_path / "nope")
    with pytest.raises(InputError, match="summary.json"):
        report.build_report_model(tmp_path)
    with pytest.raises(InputError, match="Did you mean 'html'"):
        report.write_report(tmp_path, formats=("htm",))


def test_write_report_html_and_pdf(results):
    pypdf = pytest.importorskip("pypdf")
    paths = report.write_report(results, formats=("html", "pdf"))
    assert paths == {"html": results / "report.html", "pdf": results / "report.pdf"}
    assert not list(results.glob(".report.*"))  # temporary files were moved into place
    text = paths["html"].read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and SCRIPT_NAME not in text
    reader = pypdf.PdfReader(str(paths["pdf"]))
    assert len(reader.pages) > 1
    words = re.sub(r"\s+", " ", " ".join(page.extract_text() or "" for page in reader.pages))
    assert "Methods" in words
    for name in CONTRAST_NAMES:
        assert name in words, name


def test_first_level_run_design_matrices(results, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(results, runs)
    summary = json.loads((runs / "summary.json").read_text())
    lines = ["stim\tdrift_1\tconstant"] + [f"{i % 5 == 0:d}\t{i / 40:.3f}\t1" for i in range(40)]
    for name in ("run-1", "run-2"):
        (runs / f"design_matrix_{name}.tsv").write_text("\n".join(lines) + "\n")
    summary["design_matrix"] = None
    summary["model"]["runs"] = [
        {"name": "run-1", "design_matrix": "design_matrix_run-1.tsv"},
        {"name": "run-2", "design_matrix": "design_matrix_run-2.tsv"},
    ]
    (runs / "summary.json").write_text(json.dumps(summary))
    model = report.build_report_model(runs)
    assert model.design is not None and model.design.caption == "run-1"
    assert [d.caption for d in model.run_designs] == ["run-2"]
    assert model.design_columns == ("stim", "drift_1", "constant")
    html = report.render_html(model)
    assert _section(html, "design").count("<img ") >= 2


def test_one_cached_environment_with_autoescape():
    env = report._environment()
    assert env is report._environment()
    assert env.autoescape is True
    for name in ("fmt_p", "fmt_stat", "fmt_cell", "fmt_coord"):
        assert name in env.filters
