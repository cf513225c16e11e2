"""The methods text of the report, written from the summary, with its citations and
bibliography (``templates/references.yaml``; atlases cite themselves).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from ..outputs.summary import Correction, FirstLevelModel, Model, Summary
from ..resources import templates_dir
from .filters import MINUS, TIMES, fmt_dims, fmt_int, fmt_num, fmt_stat
from .methods_notes import (
    cluster_map_sentence,
    conjunction_sentence,
    effect_size_sentence,
    statistic_phrase,
    svc_phrase,
)
from .model import MAX_NAMED_COLUMNS, Atlas, ContrastSection, CorrectionSection
from .nonsphericity import nonsphericity_paragraph
from .overview import columns_text
from .tables import num

Group = list[tuple[ContrastSection, Correction, CorrectionSection]]


@cache
def references() -> dict[str, dict[str, str]]:
    """Citable works: key -> {cite, reference, bibtex} (``templates/references.yaml``)."""
    import yaml

    path = templates_dir() / "references.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def cite(keys: list[str], *new: str) -> str:
    """The in-text citation of ``new`` (added to ``keys``, the works cited so far)."""
    for key in new:
        if key not in keys:
            keys.append(key)
    return "; ".join(references()[k]["cite"] for k in new)


def methods(
    summary: Summary, contrasts: Sequence[ContrastSection], atlases: Sequence[Atlas]
) -> tuple[tuple[str, ...], list[str]]:
    """Methods paragraphs written from the summary, and the reference keys they cite."""
    cited: list[str] = []

    def cite_new(*keys: str) -> str:
        return cite(cited, *keys)

    paragraphs = [_analysis_paragraph(summary)]
    within = nonsphericity_paragraph(summary, cite_new)
    if within:
        paragraphs.append(within)
    if contrasts:
        paragraphs.append(_contrasts_paragraph(contrasts))
    joined = conjunction_sentence(summary, cite_new)
    if joined:
        paragraphs.append(joined)
    corrections = [_correction_text(g, cited) for g in _groups(summary, contrasts).values()]
    if corrections:
        paragraphs.append(
            "Inference used the following corrections; thresholds are stated on the z scale "
            "and in the units of each contrast's statistic."
        )
        paragraphs.extend(corrections)
    sentences = (
        effect_size_sentence(contrasts, cite_new),
        _labels_and_display(summary, atlases, cited),
        cluster_map_sentence(summary),
    )
    tail = " ".join(t for t in sentences if t)
    if tail:
        paragraphs.append(tail)
    return tuple(paragraphs), cited


def _analysis_paragraph(summary: Summary) -> str:
    """Software, model, smoothing and mask."""
    model = summary.model
    versions = summary.provenance.versions
    version = summary.glmreport_version or versions.get("glmreport") or ""
    software = f"glmreport {version}".strip()
    libs = [f"{k} {versions[k]}" for k in ("numpy", "scipy", "nibabel") if k in versions]
    python = summary.provenance.python
    env = ", ".join(([f"Python {python}"] if python else []) + libs)
    first = f"Statistical analyses were performed with {software}" + (f" ({env})." if env else ".")
    parts = [first, model_sentence(model)]
    fwhm = model.smoothing_fwhm
    parts.append(
        f"Images were smoothed with an isotropic Gaussian kernel of {fmt_num(fwhm)} mm FWHM."
        if fwhm > 0
        else "No spatial smoothing was applied."
    )
    mask = model.mask
    if mask.n_voxels or mask.rule:
        text = "The analysis was restricted to"
        text += f" {fmt_int(mask.n_voxels)} voxels" if mask.n_voxels else " voxels"
        if mask.rule:
            text += f" ({mask.rule})"
        elif mask.source:
            text += f" (mask: {mask.source})"
        if model.space:
            text += f" in {model.space} space"
        if model.voxel_size:
            text += f" at {TIMES.join(fmt_num(v) for v in model.voxel_size)} mm"
        parts.append(text + ".")
    return " ".join(parts)


def _fit_text(model: Model) -> str:
    noise = (model.noise_model or "ols").lower()
    if noise == "ols":
        return "ordinary least squares"
    if noise == "nonsphericity":
        return (
            "generalised least squares with the non-sphericity correction described below "
            "(whitening by the estimated error covariance)"
        )
    if noise.startswith("ar"):
        fit = "generalised least squares with a first-order autoregressive (AR(1)) noise model"
        ar1 = model.first.ar1 if model.first is not None else None
        return fit + (f" ({ar1})" if ar1 else "")
    return noise


def model_sentence(model: Model) -> str:
    """The model in words: design, fit, inputs, columns and degrees of freedom."""
    fit = _fit_text(model)
    if model.first is not None:
        return _first_level_sentence(model, model.first, fit)
    columns, nuisance = model.columns, model.nuisance_columns
    design = model.design or "general linear model"
    level_text = {"second": "second-level (group) "}.get(model.level, "")
    if model.level in design:
        level_text = ""
    sentence = f"A {level_text}{design} was fitted by {fit}"
    sentence += f" to {fmt_int(model.n_inputs)} images"
    if columns:
        sentence += f" (design columns: {columns_text(columns, nuisance)}"
        if nuisance and len(columns) <= MAX_NAMED_COLUMNS:
            sentence += f"; of no interest: {', '.join(nuisance)}"
        sentence += ")"
    if model.dof is not None:
        sentence += f", leaving {fmt_num(model.dof)} residual degrees of freedom"
    return sentence + "."


def _first_level_sentence(model: Model, first: FirstLevelModel, fit: str) -> str:
    n_runs = len(first.runs) or model.n_inputs
    text = (
        f"A first-level general linear model was fitted to each of the {fmt_int(n_runs)} runs"
        if n_runs > 1
        else "A first-level general linear model was fitted"
    )
    details = []
    if first.n_scans:
        details.append(f"{' and '.join(fmt_int(s) for s in first.n_scans)} scans")
    details.append(f"repetition time {fmt_num(first.t_r)} s")
    text += f" ({', '.join(details)}) by {fit}."
    parts = [text]
    regressors = []
    if first.hrf:
        regressors.append(
            f"event regressors were convolved with the {first.hrf} haemodynamic response function"
        )
    drift = first.drift
    if drift.model and drift.model != "none":
        text = f"low-frequency drifts were modelled with a {drift.model} basis"
        if drift.model == "cosine" and drift.high_pass:
            text += f" (high-pass cut-off {fmt_num(drift.high_pass)} Hz)"
        elif drift.order is not None:
            text += f" of order {fmt_int(drift.order)}"
        regressors.append(text)
    if regressors:
        sentence = "; ".join(regressors)
        parts.append(sentence[0].upper() + sentence[1:] + ".")
    columns, nuisance = model.columns, model.nuisance_columns
    if columns:
        text = f"The design had the columns {columns_text(columns, nuisance)}"
        if nuisance and len(columns) <= MAX_NAMED_COLUMNS:
            text += f" (of no interest: {', '.join(nuisance)})"
        parts.append(text + ".")
    if first.fixed_effects and n_runs > 1:
        text = f"Runs were combined by fixed effects ({first.fixed_effects})"
        if model.dof is not None:
            text += f", leaving {fmt_num(model.dof)} residual degrees of freedom"
        parts.append(text + ".")
    elif model.dof is not None:
        parts.append(f"The model left {fmt_num(model.dof)} residual degrees of freedom.")
    return " ".join(parts)


def weights_text(weights: Sequence[float], columns: Sequence[str]) -> str:
    """``a + b − c`` or ``0.5×a − 0.5×b``: the non-zero weights of a one-row contrast."""
    terms = []
    for w, col in zip(weights, columns, strict=False):
        if w == 0:
            continue
        size = abs(w)
        term = str(col) if size == 1 else f"{size:.3g}\u00d7{col}"
        if not terms:
            terms.append(term if w > 0 else f"{MINUS}{term}")
        else:
            terms.append(f"{'+' if w > 0 else MINUS} {term}")
    return " ".join(terms)


def _contrasts_paragraph(contrasts: Sequence[ContrastSection]) -> str:
    described = []
    for c in contrasts:
        kind = f"an F contrast ({c.df_num} rows)" if c.stat_type == "F" else "a t contrast"
        if c.conjunction:
            kind = f"a conjunction of {len(c.conjunction)} t contrasts"
        weights = ""
        if c.weights and c.columns and len(c.weights) == 1:
            text = weights_text(c.weights[0], c.columns)
            weights = f": {text}" if text else ""
        described.append(f"\u201c{c.name}\u201d ({kind}{weights})")
    text = f"We tested {len(contrasts)} contrast{'s' if len(contrasts) != 1 else ''}: "
    text += "; ".join(described) + "."
    return text + (
        " Statistics were converted to z values of equal p; one-sided t tests test a "
        "positive effect, and two-sided corrections use |z| and report negative clusters "
        "separately."
    )


def _groups(summary: Summary, contrasts: Sequence[ContrastSection]) -> dict[str, Group]:
    """Corrections of one method, label, alpha and sidedness, across contrasts."""
    groups: dict[str, Group] = {}
    for entry, c in zip(summary.contrasts, contrasts, strict=True):
        for k, section in zip(entry.corrections, c.corrections, strict=True):
            key = f"{section.method}/{section.desc}/{section.alpha}/{section.two_sided}"
            groups.setdefault(key, []).append((c, k, section))
    return groups


def _correction_text(members: Group, cited: list[str]) -> str:
    _, entry, section = members[0]
    text = f"{section.title}: {method_phrase(entry, cited)}"
    text += svc_phrase(entry, lambda *keys: cite(cited, *keys)) + statistic_phrase(entry)
    if "sided" not in section.title.lower():
        text += ", two-sided" if section.two_sided else ", one-sided"
    if section.cluster_extent:
        k = section.cluster_extent
        text += f", with a minimum cluster size of {fmt_int(k)} voxel{'s' if k != 1 else ''}"
    seed = entry.params.get("seed")
    if seed is not None:
        text += f" (random seed {seed})"
    thresholds = []
    for c, _, s in members:
        if s.threshold_z is not None:
            sign = "|z|" if s.two_sided else "z"
            value = f"{sign} > {fmt_stat(s.threshold_z)}"
            if s.threshold_stat is not None:
                stat_sign = f"|{c.stat_type}|" if s.two_sided else c.stat_type
                value += f", {stat_sign.replace(c.stat_type, c.stat_label)}"
                value += f" > {fmt_stat(s.threshold_stat)}"
            thresholds.append(f"{value} for \u201c{c.name}\u201d")
        else:
            thresholds.append(f"no voxel-height threshold for \u201c{c.name}\u201d")
    if thresholds:
        text += "; voxel thresholds: " + "; ".join(thresholds)
    return text + "."


def method_phrase(entry: Correction, cited: list[str]) -> str:
    """How a correction controls errors, in words (falls back to its title)."""
    a = fmt_num(entry.alpha)
    if entry.method == "uncorrected":
        return f"an uncorrected voxel-wise threshold of p < {a}"
    if entry.method == "fdr":
        return (
            f"voxel-wise false discovery rate control at q = {a} "
            f"(Benjamini\u2013Hochberg procedure; {cite(cited, 'bh1995')})"
        )
    if entry.method == "bonferroni":
        return f"Bonferroni correction for the family-wise error rate (FWE) at p < {a}"
    if entry.method == "permutation":
        return _permutation_phrase(entry, cited)
    if entry.method == "rft":
        return _rft_phrase(entry, cited)
    if entry.method == "ari":
        return (
            "all-resolution inference, giving simultaneous lower confidence bounds "
            f"(1 \u2212 \u03b1 = {fmt_num(1 - entry.alpha)}) on the "
            f"true discovery proportion of each cluster "
            f"({cite(cited, 'rosenblatt2018', 'goeman2011')})"
        )
    return entry.title or entry.method


def _permutation_phrase(entry: Correction, cited: list[str]) -> str:
    route = entry.route.lower()
    n_perm = entry.params.get("n_perm") or entry.extras.get("n_perm")
    what = "the maximum voxel statistic"
    keys = ["nichols2002", "winkler2014"]
    if "tfce" in route:
        what = "the maximum threshold-free cluster enhancement (TFCE) score"
        keys.append("smith2009")
    elif "mass" in route:
        what = "the maximum cluster mass"
    elif "cluster" in route:
        what = "the maximum cluster size"
    cdt = entry.params.get("cluster_forming_p") if what.startswith("the maximum cluster") else None
    cdt_text = f" with a cluster-forming threshold of p < {fmt_num(cdt)}" if cdt else ""
    n_text = f"{fmt_int(n_perm)} " if n_perm else ""
    return (
        f"non-parametric permutation inference ({n_text}permutations; FWE p < "
        f"{fmt_num(entry.alpha)} from the distribution of {what}{cdt_text}; "
        f"{cite(cited, *keys)})"
    )


def _rft_phrase(entry: Correction, cited: list[str]) -> str:
    route, extras, params = entry.route.lower(), entry.extras, entry.params
    cdt = extras.get("cluster_forming_p") or (
        params.get("cluster_forming_p") if "cluster" in route else None
    )
    level = "cluster-level" if cdt else "voxel-level"
    text = f"{level} random field theory FWE control at p < {fmt_num(entry.alpha)}"
    if cdt:
        text += f" with a cluster-forming threshold of p < {fmt_num(cdt)} (uncorrected)"
    fwhm = extras.get("fwhm_mm")
    if isinstance(fwhm, list) and fwhm:
        source = extras.get("smoothness_source")
        text += f"; estimated smoothness {fmt_dims(fwhm)} mm FWHM" + (
            " (from the residuals)" if source == "residuals" else ""
        )
    resels = extras.get("resels")
    if isinstance(resels, list) and resels:
        text += f", {fmt_num(num(resels[-1]))} resels"
    return f"{text} ({cite(cited, 'worsley1996')})"


def short_citation(citation: str) -> str:
    """``Desikan et al., 2006`` from a full reference (first author, year), else as given."""
    match = re.match(r"\s*([A-Z][A-Za-z'\u00c0-\u017f-]+)[^()]*?\((\d{4})\)", citation)
    if not match:
        return citation
    several = "," in citation[: match.start(2)] or " et al" in citation[: match.start(2)]
    return f"{match.group(1)}{' et al.' if several else ''}, {match.group(2)}"


def _labels_and_display(summary: Summary, atlases: Sequence[Atlas], cited: list[str]) -> str:
    """Atlas labelling, the display template and cluster forming."""
    tail = []
    ok = [a for a in atlases if a.status == "ok"]
    if ok:
        labels = []
        for a in ok:
            text = f"the {a.title or a.name + ' atlas'}"
            if a.citation:
                text += f" ({short_citation(a.citation)})"
            labels.append(text)
        text = "Clusters and peaks were labelled with " + "; and ".join(labels)
        if any(a.space_note for a in ok):
            text += (
                "; atlas labels were looked up at the same world coordinates without a "
                "transform between template spaces"
            )
        tail.append(text + ".")
    if summary.background is None:
        template = f"the MNI152NLin2009cAsym template ({cite(cited, 'fonov2011', 'ciric2022')})"
        if (summary.model.space or "").upper().startswith("MNI"):
            tail.append(f"Results are displayed on {template}; coordinates are in mm (MNI space).")
        else:
            tail.append(
                f"Results are displayed over {template} at the data's world coordinates (mm)."
            )
    clustering = summary.inference
    if clustering.connectivity:
        text = f"Clusters were formed with {fmt_int(clustering.connectivity)}-connectivity"
        if clustering.peak_min_distance_mm:
            text += (
                f"; sub-peaks are at least {fmt_num(clustering.peak_min_distance_mm)} mm from "
                "other peaks of their cluster"
            )
        tail.append(text + ".")
    return " ".join(tail)


def _bibtex_escape(text: str) -> str:
    return text.replace("\\", "").replace("{", "(").replace("}", ")")


def bibliography(cited: list[str], atlases: Sequence[Atlas]) -> tuple[tuple[str, ...], str]:
    """Formatted references and BibTeX of the works cited, then of the atlases used."""
    refs = [references()[k]["reference"] for k in cited]
    entries = [references()[k]["bibtex"].strip() for k in cited]
    for atlas in atlases:
        if atlas.status == "ok" and atlas.citation:
            text = f"{atlas.title or atlas.name + ' atlas'}: {atlas.citation}"
            if atlas.doi and atlas.doi not in atlas.citation:
                text += f" doi:{atlas.doi}"
            refs.append(text)
            key = "atlas_" + re.sub(r"[^a-z0-9]+", "_", atlas.name.lower()).strip("_")
            title = _bibtex_escape(atlas.title or atlas.name + " atlas")
            entry = (
                f"@misc{{{key},\n  title = {{{title}}},"
                f"\n  note = {{{_bibtex_escape(atlas.citation)}}}"
            )
            if atlas.doi:
                entry += f",\n  doi = {{{_bibtex_escape(atlas.doi)}}}"
            entries.append(entry + "\n}")
    return tuple(refs), "\n\n".join(entries)
