"""Report: model building, HTML (one file, escaped, nothing fetched) and PDF."""

from __future__ import annotations

import dataclasses
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from fixtures.report_fixtures import (
    ATLAS,
    COMPOSITION_NOTE,
    CONTRAST_NAMES,
    SCRIPT_NAME,
    SPACE_NOTE,
    write_results,
)

from glmreport.errors import InputError
from glmreport.outputs.summary import (
    Drift,
    FirstLevelModel,
    RunDesign,
    Summary,
    read_summary,
    write_summary,
)
from glmreport.report import filters, render
from glmreport.report.build import build_report_model
from glmreport.report.model import MAX_CLUSTER_ROWS, MAX_CROSS_ROWS, ReportModel


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_results(tmp_path_factory.mktemp("report") / "results")


@pytest.fixture(scope="module")
def summary(results: Path) -> Summary:
    return read_summary(results)


@pytest.fixture(scope="module")
def model(results: Path) -> ReportModel:
    return build_report_model(results)


@pytest.fixture(scope="module")
def html(model: ReportModel) -> str:
    return render.render_html(model)


def _replace_correction(summary: Summary, i: int, j: int, **changes) -> Summary:
    """The summary with correction j of contrast i changed."""
    contrast = summary.contrasts[i]
    corrections = list(contrast.corrections)
    corrections[j] = dataclasses.replace(corrections[j], **changes)
    contrasts = list(summary.contrasts)
    contrasts[i] = dataclasses.replace(contrast, corrections=tuple(corrections))
    return dataclasses.replace(summary, contrasts=tuple(contrasts))


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
    for contrast, entry in zip(model.contrasts, summary.contrasts, strict=True):
        assert [k.desc for k in contrast.corrections] == [k.desc for k in entry.corrections]
        for section, k in zip(contrast.corrections, entry.corrections, strict=True):
            assert section.n_voxels == k.n_voxels
            assert section.n_clusters == k.n_clusters
            assert section.threshold_z == pytest.approx(k.threshold_z)
            assert section.threshold_stat == pytest.approx(k.threshold_stat)
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
                assert 'class="data clusters' in part and 'class="data peaks' in part
                table = part.split('class="data clusters')[1].split("</table>")[0]
                n_rows = table.count('<td class="k-id">')
                assert n_rows == min(k.n_clusters, MAX_CLUSTER_ROWS), k.anchor
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
    # ours at the end of <body> (the report's and the viewer's), the rest JSON data
    assert html.count("<script>") == 2
    assert html.count("<script") == 2 + html.count('<script type="application/json"')
    assert "script" in parsed.tags
    # The name also reaches the config text verbatim, the methods and the TOC, escaped.
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 5


def test_single_file_without_network_references(html):
    # Strict: no web address anywhere in the document, not even as text.
    assert "http://" not in html and "https://" not in html
    parsed = _parse(html)
    for tag, name, value in parsed.attrs:
        if name == "src":
            assert value.startswith("data:image/png;base64,"), (tag, value[:40])
        if name == "href":  # in-page links, and each table's TSV as a data: URI
            assert value.startswith(("#", "data:text/tab-separated-values;")), (tag, value)
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
    assert headers[:8] == ["Cluster", "Sign", "Voxels", "x", "y", "z", "Peak z", "Peak t"]
    assert "Volume (mm\u00b3)" not in headers  # voxels x voxel volume: in the TSV only
    assert "harvard-oxford-cortical" in headers
    assert "harvard-oxford-cortical composition" in headers
    ari = model.contrasts[2].corrections[1]
    assert "TDP \u2265" in [c.header for c in ari.clusters.columns]
    assert "Peak F" in [c.header for c in ari.clusters.columns]
    perm = model.contrasts[0].corrections[1]
    p_col = [c.key for c in perm.clusters.columns].index("p_fwe")
    assert perm.clusters.rows[-1][p_col] is None  # NaN in the TSV
    part = _section(html, perm.anchor).split('class="data clusters')[1].split("</table>")[0]
    last_row = part.split("<tr")[-1]
    assert "\u2014" in last_row
    assert "n/a" not in part and "nan" not in part.lower().replace("nan-", "")


def test_method_partials(model, html):
    perm = _section(html, model.contrasts[0].corrections[1].anchor)
    assert "Permutation null distribution" in perm and 'class="fig null"' in perm
    assert "maximum |t|" in perm and "critical value" in perm
    ari = _section(html, model.contrasts[2].corrections[1].anchor)
    assert "true discovery proportion" in ari
    cluster_perm = _section(html, model.contrasts[1].corrections[2].anchor)
    assert "maximum cluster size (voxels)" in cluster_perm


def test_rft_footer_and_spm_table(model, html):
    voxel = model.contrasts[0].corrections[2]
    assert voxel.method == "rft" and voxel.details == ()  # everything is in the footer
    part = _section(html, voxel.anchor)
    for label in (
        "Random field theory",
        "Height threshold",
        "Extent threshold",
        "Expected voxels per cluster",
        "Expected number of clusters",
        "Set level",
        "FWEp:",
        "FDRp:",
        "FWEc:",
        "Degrees of freedom",
        "Smoothness (FWHM)",
        "Search volume",
        "Resels R0&ndash;R3",
        "Voxel size",
    ):
        assert label in part, label
    assert "T = 8.64" in part and "p = 0.050 FWE" in part  # height threshold, both scales
    assert "8.4 \u00d7 8.9 \u00d7 8.1 mm" in part and "4.2 \u00d7 4.5 \u00d7 4.0 voxels" in part
    assert "1, 62.54, 817.1, 2574" in part and "resel size 85.95 voxels" in part
    assert "estimated from the residuals of 16 images" in part
    assert "fwe_p_stat" not in part and "height_threshold" not in part  # no raw keys

    cluster = model.contrasts[2].corrections[2]
    assert cluster.desc == "rftCluster"
    part = _section(html, cluster.anchor)
    assert "Cluster-forming threshold" in part and "clusters formed" in part
    assert "F = 12.31" in part  # the F field's statistic, not T
    table = cluster.clusters
    keys = [c.key for c in table.columns]
    assert keys[:16] == [
        "cluster_id",
        "sign",
        "set_p",
        "set_c",
        "p_fwe",
        "q_fdr",
        "size_voxels",
        "p_unc",
        "peak_p_fwe",
        "peak_q_fdr",
        "peak_stat",
        "peak_value",
        "peak_p_unc",
        "peak_x",
        "peak_y",
        "peak_z",
    ]
    assert [c.header for c in table.columns][10:12] == ["F", "Z"]
    assert [g for g, _ in table.header_groups] == [
        "",
        "set level",
        "cluster level",
        "peak level",
        "mm",
        "",
    ]
    assert table.rows[0][2] == pytest.approx(0.6906) and table.rows[0][3] == len(table.rows)
    assert all(row[2] is None for row in table.rows[1:])  # set level: first row only
    body = part.split('class="data clusters')[1].split("</table>")[0]
    assert 'colspan="4" class="group">cluster level' in body
    assert 'colspan="5" class="group">peak level' in body
    assert ">kE<" in body


def test_ari_threshold_blocks(model, html):
    ari = model.contrasts[2].corrections[1]
    table = ari.clusters
    assert "threshold_z" not in [c.key for c in table.columns]  # one block per threshold
    assert [b.title for b in table.blocks] == [
        "Clusters at z > 3.09 (F(2, 13) > 12.31)",
        "Clusters at z > 4 (F(2, 13) > 25.50)",
    ]
    assert sum(len(b.rows) for b in table.blocks) == len(table.rows)
    headers = [c.header for c in table.columns]
    assert {"TDP \u2265", "Active voxels \u2265", "Inside cluster"} <= set(headers)
    part = _section(html, ari.anchor)
    assert part.count('class="block-head"') == 4  # clusters and peaks, two thresholds each
    assert "Clusters at z &gt; 3.09" in part and "Peaks of the clusters at z &gt; 4" in part
    tdp = table.rows[0][headers.index("TDP \u2265")]
    assert filters.fmt_percent(tdp) in part and filters.fmt_percent(tdp).endswith("%")
    for phrase in ("at least that percentage", "chosen after looking at the data", "1 &minus;"):
        assert phrase in part, phrase
    assert [lv.threshold_z for lv in ari.ari_levels] == [3.09, 4.0]
    assert "Clusters formed" in part and "With TDP bound" in part


def test_survives_badges_and_cross_table(model, html):
    fdr = model.contrasts[0].corrections[0]
    col = [c.key for c in fdr.clusters.columns].index("survives")
    first = fdr.clusters.rows[0][col]
    assert [b.desc for b in first] == ["fdr", "permMaxT", "rft"]
    assert [b.short for b in first] == ["FDR", "Perm voxel", "RFT voxel"]
    part = _section(html, fdr.anchor)
    assert '<span class="badge" title="RFT voxel-level FWE p &lt; 0.05">RFT voxel</span>' in part
    assert "fdr, permMaxT" not in part  # the raw cell is not shown
    # ARI bound of another correction's clusters, as a percentage.
    fdr_f = model.contrasts[2].corrections[0]
    assert "ari_tdp" in [c.key for c in fdr_f.clusters.columns]
    assert "ARI TDP &ge;" in _section(html, fdr_f.anchor)
    # Summary: clusters x corrections of the most lenient correction.
    cross = model.contrasts[0].crosstab
    assert cross is not None and cross.base_title == fdr.title
    assert [short for short, _, _ in cross.corrections] == ["FDR", "Perm voxel", "RFT voxel"]
    assert cross.rows[0].marks == (True, True, True) and cross.label_header == ATLAS
    assert len(cross.rows) == min(MAX_CROSS_ROWS, fdr.n_clusters)
    summary_html = _section(html, "summary")
    assert "Clusters across corrections" in summary_html
    assert summary_html.count('class="data crosstab"') == sum(
        1 for c in model.contrasts if c.crosstab
    )
    assert '<span class="badge">Perm voxel</span>' in summary_html  # short names in the table


def test_method_details_are_labelled(model, html):
    perm = model.contrasts[0].corrections[1]
    labels = {d.label: d.value for d in perm.details}
    assert labels["Permutations"] == "1\u2009000" and labels["Random seed"] == "42"
    assert labels["All permutations enumerated"] == "no"
    assert labels["Smallest attainable p FWE"] == "0.001"
    part = _section(html, perm.anchor)
    for raw in ("n_perm", "null_label", "observed_max", "min_p_fwe", "atlas_notes"):
        assert f">{raw}<" not in part and f"{raw} =" not in part
    ari = model.contrasts[2].corrections[1]
    assert [d.label for d in ari.details] == ["Cluster-forming thresholds (z)", "Voxels tested"]
    assert all("hommel" not in d.key for d in ari.details)


def test_atlas_notes_and_missing_atlas(model, html):
    warnings = " ".join(model.warnings)
    assert "Atlas 'aal' not used: AAL files not found" in warnings
    assert SPACE_NOTE in model.warnings  # once, in the summary
    fdr = model.contrasts[0].corrections[0]
    assert fdr.clusters.notes == (COMPOSITION_NOTE,) and fdr.atlas_caveats == (ATLAS,)
    part = _section(html, fdr.anchor)
    assert f"Note: {COMPOSITION_NOTE}" in part
    assert "another template space" in part and SPACE_NOTE.split(";")[0] not in part
    methods = _section(html, "methods")
    assert "Atlases" in methods and "fsl.fmrib.ox.ac.uk/fsl/fslwiki/Licence" in methods
    assert "doi:10.1016/j.neuroimage.2006.01.021" in methods
    assert "not available for this run" in methods  # listed; its message is in the summary
    assert html.count("AAL files not found") == 1  # one note per unavailable atlas


def test_row_cap(results, tmp_path):
    many = tmp_path / "many"
    shutil.copytree(results, many)
    summary = read_summary(many)
    entry = summary.contrasts[0].corrections[0]
    path = many / entry.clusters_table
    frame = pd.read_csv(path, sep="\t")
    big = pd.concat([frame.iloc[[0]]] * 80, ignore_index=True)
    big["cluster_id"] = range(1, 81)
    big.to_csv(path, sep="\t", index=False)
    write_summary(many, _replace_correction(summary, 0, 0, n_clusters=80))
    model = build_report_model(many)
    table = model.contrasts[0].corrections[0].clusters
    assert len(table.rows) == MAX_CLUSTER_ROWS == 50 and table.n_total == 80
    assert table.truncated and table.n_more == 30
    html = render.render_html(model)
    part = _section(html, model.contrasts[0].corrections[0].anchor)
    body = part.split('class="data clusters')[1].split("</table>")[0]
    assert body.count('<td class="k-id">') == 50
    assert "30 more clusters (of 80) in <code>" + entry.clusters_table in body


def test_provenance(html, summary):
    part = _section(html, "provenance")
    for entry in summary.inputs:
        assert entry.sha256 in part
    assert "glmreport run analysis.yaml -o results" in part
    assert "n_perm: 1000" in part  # config verbatim
    assert "button press/permMaxT" in part and ">42<" in part  # seeds


def test_missing_files_render_with_notes(results, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(results, broken)
    summary = read_summary(broken)
    first = summary.contrasts[0]
    (broken / first.corrections[0].map).unlink()
    (broken / first.corrections[1].peaks_table).unlink()
    (broken / first.maps.z).unlink()
    (broken / "design_matrix.tsv").unlink()
    # What a later method might leave empty.
    summary = _replace_correction(
        summary,
        2,
        2,
        threshold_z=None,
        threshold_stat=None,
        params={},
        extras={},
        arrays=None,
        method="futureMethod",
    )
    provenance = dataclasses.replace(summary.provenance, command=None, versions={})
    write_summary(broken, dataclasses.replace(summary, provenance=provenance))
    model = build_report_model(broken)
    html = render.render_html(model)
    notes = " ".join(model.warnings)
    assert "not found" in notes and "z map not found" in notes
    assert model.design is None and model.contrasts[0].histogram is None
    assert model.contrasts[0].corrections[0].glass_brain is None
    assert "no voxel-height threshold" in _section(html, model.contrasts[2].corrections[2].anchor)


def test_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        build_report_model(tmp_path / "nope")
    with pytest.raises(InputError, match="summary.json"):
        build_report_model(tmp_path)
    with pytest.raises(InputError, match="Did you mean 'html'"):
        render.write_report(tmp_path, formats=("htm",))


def test_write_report_html_and_pdf(results):
    pypdf = pytest.importorskip("pypdf")
    paths = render.write_report(results, formats=("html", "pdf"))
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
    summary = read_summary(runs)
    lines = ["stim\tdrift_1\tconstant"] + [f"{i % 5 == 0:d}\t{i / 40:.3f}\t1" for i in range(40)]
    for name in ("run-1", "run-2"):
        (runs / f"design_matrix_{name}.tsv").write_text("\n".join(lines) + "\n")
    (runs / "design_matrix.tsv").unlink()
    first = FirstLevelModel(
        n_scans=(40, 40),
        t_r=2.0,
        slice_time_ref=0.0,
        hrf="glover",
        drift=Drift(model="cosine", high_pass=0.01, order=1),
        ar1="voxel-wise lag-1 autocorrelation of OLS residuals",
        signal_scaling="none",
        fixed_effects="precision-weighted over runs",
        design_notes={"run-2": ("event 'stim' at 78 s overlaps the end of the run",)},
        runs=tuple(
            RunDesign(name=n, design_matrix=f"design_matrix_{n}.tsv") for n in ("run-1", "run-2")
        ),
    )
    model_info = dataclasses.replace(
        summary.model,
        level="first",
        design="first-level GLM, AR1 noise model",
        n_inputs=2,
        columns=("stim", "drift_1", "constant"),
        nuisance_columns=("drift_1", "constant"),
        noise_model="ar1",
        space=None,
        first=first,
        second=None,
    )
    contrasts = tuple(
        dataclasses.replace(c, columns=("stim", "drift_1", "constant")) for c in summary.contrasts
    )
    summary = dataclasses.replace(
        summary, design_matrix=None, model=model_info, contrasts=contrasts
    )
    write_summary(runs, summary)
    model = build_report_model(runs)
    assert model.design is None and model.level == "first"
    assert [d.caption for d in model.run_designs] == ["run-1 (40 scans)", "run-2 (40 scans)"]
    assert model.design_columns == ("stim", "drift_1", "constant")
    assert "Design matrix file not found." not in model.warnings
    assert all(c.matrix is not None and c.matrix_plain is not None for c in model.contrasts)
    facts = dict(model.facts)
    assert facts["Runs"] == "2 (40 + 40 scans)" and facts["Repetition time"] == "2 s"
    assert facts["HRF"] == "glover" and facts["Noise model"] == "AR(1)"
    assert facts["Drift model"] == "cosine, high-pass 0.01 Hz"
    assert facts["Runs combined by"] == "fixed effects, precision-weighted over runs"
    assert "Inputs (N)" not in facts
    warnings = " ".join(model.warnings)
    assert "Design of run-2: event 'stim' at 78 s overlaps" in warnings
    assert "template space is not recorded" in warnings and model.coord_space == "world"
    methods = " ".join(model.methods)
    for phrase in (
        "first-level general linear model was fitted to each of the 2 runs",
        "40 and 40 scans, repetition time 2 s",
        "first-order autoregressive (AR(1)) noise model",
        "glover haemodynamic response function",
        "cosine basis (high-pass cut-off 0.01 Hz)",
        "Runs were combined by fixed effects (precision-weighted over runs)",
    ):
        assert phrase in methods, phrase
    assert "first-level first-level" not in methods
    html = render.render_html(model)
    design = _section(html, "design")
    assert design.count("<img ") == 2 + len(model.contrasts)
    assert "run-1 (40 scans)" in design and "run-2 (40 scans)" in design
    assert "z in mm (world)" in html and "z in mm (MNI)" not in html
