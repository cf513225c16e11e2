"""``glmreport diff A B``: two results folders compared through the results contract.

Both ``summary.json`` files are read by the one reader
(:func:`glmreport.outputs.summary_io.read_summary`: every key and type checked, every path
inside its folder), then compared part by part: the config (its title, and its text line by
line), the model, the inputs and their checksums, cluster options, atlases, the seeds, the
design matrices and the mask; then each contrast (matched by name) and each of its corrections
(matched by ``desc``): their fields (weights, thresholds, counts, parameters ...), every map
(voxel by voxel), every table (cell by cell) and every array file.

Numbers are equal when ``|A - B| <= tolerance`` (absolute, :data:`DEFAULT_TOLERANCE` unless
given); integers (counts, sizes) and text must be equal. What a run records about itself and
not about its results is ignored (:data:`IGNORED`): the provenance except the seeds (package
versions, platform, start and end times, run time, command line, the folder's name), the
glmreport version (a note when it differs), the config's file name, which report files were
rendered and the report files themselves, and the files that repeat the summary (each map's
JSON sidecar, ``dataset_description.json``).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from .codec import encode
from .compare_files import compare_arrays, compare_maps, compare_tables, show, values_differ
from .safety import resolve_inside
from .summary_io import read_summary
from .summary_types import Contrast, Correction, Summary

#: Largest absolute difference of two numbers taken as equal, unless ``--tolerance`` says.
#: Maps are float32: 1e-6 is below their rounding for values above 8 and catches any change
#: of a result, while a rerun of the same config on the same machine is bit for bit equal.
DEFAULT_TOLERANCE = 1e-6

#: What ``diff`` does not compare (it describes the run, not its results).
IGNORED = (
    "provenance (except provenance.seeds): package versions, platform, times, command line, "
    "results folder name",
    "glmreport_version and schema_version (a note when they differ)",
    "config_file: the config's file name (its text is compared)",
    "report: the report files and which were rendered",
    "map sidecars (.json) and dataset_description.json: they repeat summary.json",
)

#: Summary keys of a correction that name files (compared by their content).
_FILE_KEYS = ("map", "maps", "clusters_table", "peaks_table", "arrays", "cluster_map")
_CONTRAST_MAPS = ("effect", "variance", "stat", "z", "p")

Compare = Callable[[Path, Path, float], list[str]]


@dataclass(frozen=True, slots=True)
class Difference:
    """One thing that differs.

    Attributes
    ----------
    where : tuple of str
        Its group, outermost first (``("contrast 'effect'", "correction 'fdr'")``).
    what : str
        What differs, A's value first (``alpha: 0.05 vs 0.01``).
    """

    where: tuple[str, ...]
    what: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Comparison:
    """The outcome of comparing two results folders.

    Attributes
    ----------
    a, b : Path
        The folders, as given.
    tolerance : float
    differences : tuple of Difference
        In the order of the summary: config, model, inputs ..., then contrast by contrast.
    notes : tuple of str
        What differs but is ignored (the glmreport version).
    counts : mapping of str to int
        What was compared (``contrasts``, ``corrections``, ``maps``, ``tables``, ``arrays``).
    """

    a: Path
    b: Path
    tolerance: float
    differences: tuple[Difference, ...]
    notes: tuple[str, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def equal(self) -> bool:
        """Whether nothing differs."""
        return not self.differences


def compare_results(
    a: str | Path, b: str | Path, *, tolerance: float = DEFAULT_TOLERANCE
) -> Comparison:
    """Compare two results folders (see the module's description for what is compared).

    Parameters
    ----------
    a, b : str or Path
        Folders written by ``glmreport run``.
    tolerance : float
        Largest absolute difference of two numbers taken as equal (>= 0).

    Returns
    -------
    Comparison

    Raises
    ------
    InputError
        A folder is missing or is not a results folder, its ``summary.json`` is corrupt or
        names a path outside the folder, a file it names is missing or unreadable, or the
        tolerance is not a finite number >= 0.
    """
    if not (isinstance(tolerance, int | float) and math.isfinite(tolerance) and tolerance >= 0):
        raise InputError(f"--tolerance {tolerance!r}: expected a finite number >= 0")
    a, b = Path(a), Path(b)
    for folder in (a, b):
        if folder.exists() and not folder.is_dir():
            raise InputError(
                f"{folder} is not a folder; expected the results folder of a 'glmreport run' "
                "(it holds summary.json, maps/ and tables/)"
            )
    sa, sb = read_summary(a), read_summary(b)
    walker = _Walker(a, b, float(tolerance))
    try:
        walker.summary(sa, sb)
    except RecursionError:
        raise InputError(
            f"{a} or {b}: summary.json holds values nested too deeply to compare"
        ) from None
    return Comparison(
        a=a,
        b=b,
        tolerance=float(tolerance),
        differences=tuple(walker.found),
        notes=tuple(walker.notes),
        counts=dict(walker.counts),
    )


def config_differences(text_a: str, text_b: str) -> list[str]:
    """The lines that differ between two config texts, with their line numbers."""
    lines_a, lines_b = text_a.splitlines(), text_b.splitlines()
    matcher = difflib.SequenceMatcher(a=lines_a, b=lines_b, autojunk=False)
    out = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        for k in range(max(i2 - i1, j2 - j1)):
            i, j = i1 + k, j1 + k
            if i < i2 and j < j2:
                at = f"line {i + 1}" if i == j else f"line {i + 1} (B: line {j + 1})"
                out.append(f"{at}: {show(lines_a[i])} vs {show(lines_b[j])}")
            elif i < i2:
                out.append(f"line {i + 1} only in A: {show(lines_a[i])}")
            else:
                out.append(f"line {j + 1} only in B: {show(lines_b[j])}")
    return out


class _Walker:
    """Walks two summaries side by side and collects the differences."""

    def __init__(self, a: Path, b: Path, tolerance: float) -> None:
        self.a, self.b, self.tolerance = a, b, tolerance
        self.found: list[Difference] = []
        self.notes: list[str] = []
        self.counts = dict.fromkeys(("contrasts", "corrections", "maps", "tables", "arrays"), 0)

    def add(self, where: tuple[str, ...], what: str) -> None:
        self.found.append(Difference(where, what))

    # -- plain values -------------------------------------------------------------------------

    def tree(self, where: tuple[str, ...], path: str, va: Any, vb: Any) -> None:
        """Two JSON values, key by key and item by item."""
        if isinstance(va, dict) and isinstance(vb, dict):
            for key in [*va, *(k for k in vb if k not in va)]:
                sub = f"{path}.{key}" if path else str(key)
                if key not in vb or key not in va:
                    self.add(where, f"{sub}: only in {'A' if key in va else 'B'}")
                else:
                    self.tree(where, sub, va[key], vb[key])
        elif isinstance(va, list) and isinstance(vb, list):
            if len(va) != len(vb):
                if not any(isinstance(v, dict | list) for v in (*va, *vb)):
                    self.add(where, f"{path}: {show(va)} vs {show(vb)}")
                    return
                self.add(where, f"{path}: {len(va)} vs {len(vb)} entries")
            for i, (xa, xb) in enumerate(zip(va, vb, strict=False)):
                self.tree(where, f"{path}[{i}]", xa, xb)
        elif values_differ(va, vb, self.tolerance):
            self.add(where, f"{path}: {show(va)} vs {show(vb)}")

    # -- files --------------------------------------------------------------------------------

    def file(
        self,
        where: tuple[str, ...],
        label: str,
        rel: tuple[str | None, str | None],
        compare: Compare,
        kind: str,
    ) -> None:
        """Two files named in the summaries: both absent, one absent, or their contents."""
        rel_a, rel_b = rel
        if rel_a is None and rel_b is None:
            return
        if rel_a is None or rel_b is None:
            self.add(where, f"{label}: only in {'A' if rel_a is not None else 'B'}")
            return
        if rel_a != rel_b:
            self.add(where, f"{label}: file name {show(rel_a)} vs {show(rel_b)}")
        path_a = resolve_inside(self.a, rel_a, what=label)
        path_b = resolve_inside(self.b, rel_b, what=label)
        self.counts[kind] += 1
        for what in compare(path_a, path_b, self.tolerance):
            self.add(where, f"{label}: {what}")

    # -- the summary --------------------------------------------------------------------------

    def summary(self, sa: Summary, sb: Summary) -> None:
        ja, jb = encode(sa), encode(sb)
        if sa.glmreport_version != sb.glmreport_version:
            self.notes.append(
                f"written by glmreport {show(sa.glmreport_version)} and "
                f"{show(sb.glmreport_version)} (not compared)"
            )
        self.tree(("config",), "title", ja["title"], jb["title"])
        for line in config_differences(sa.config_text, sb.config_text):
            self.add(("config",), line)
        for key in ("model", "inputs", "inference", "atlases"):
            self.tree((key,), "", ja[key], jb[key])
        self.tree(("provenance",), "seeds", ja["provenance"]["seeds"], jb["provenance"]["seeds"])
        design = (sa.design_matrix, sb.design_matrix)
        self.file(("design",), "design_matrix", design, compare_tables, "tables")
        self.file(("mask",), "mask", (sa.mask, sb.mask), compare_maps, "maps")
        self.file(("mask",), "background", (sa.background, sb.background), compare_maps, "maps")
        self.runs(sa, sb)
        self.contrasts(sa.contrasts, sb.contrasts)

    def runs(self, sa: Summary, sb: Summary) -> None:
        """The design matrix of each run of a first-level model, matched by run name."""
        runs_a = {r.name: r.design_matrix for r in (sa.model.first.runs if sa.model.first else ())}
        runs_b = {r.name: r.design_matrix for r in (sb.model.first.runs if sb.model.first else ())}
        for name in (n for n in runs_a if n in runs_b):
            pair = (runs_a[name], runs_b[name])
            self.file(("design",), f"run {name!r} design matrix", pair, compare_tables, "tables")

    def contrasts(self, ca: Sequence[Contrast], cb: Sequence[Contrast]) -> None:
        by_name = {c.name: c for c in cb}
        names_a = [c.name for c in ca]
        self._matched(("contrasts",), "contrast", names_a, [c.name for c in cb])
        for contrast in ca:
            if contrast.name in by_name:
                self.contrast(contrast, by_name[contrast.name])

    def _matched(self, where: tuple[str, ...], what: str, names_a: list, names_b: list) -> None:
        """Entries in one list only, and a changed order of the shared ones."""
        for name in names_a:
            if name not in names_b:
                self.add(where, f"{what} {name!r} only in A")
        for name in names_b:
            if name not in names_a:
                self.add(where, f"{what} {name!r} only in B")
        shared_a = [n for n in names_a if n in names_b]
        shared_b = [n for n in names_b if n in names_a]
        if shared_a != shared_b:
            self.add(where, f"order of the {what}s: {show(shared_a)} vs {show(shared_b)}")

    def contrast(self, xa: Contrast, xb: Contrast) -> None:
        self.counts["contrasts"] += 1
        where = (f"contrast {xa.name!r}",)
        ja, jb = encode(xa), encode(xb)
        for key in ("maps", "corrections"):
            ja.pop(key), jb.pop(key)
        self.tree(where, "", ja, jb)
        for key in _CONTRAST_MAPS:
            pair = (getattr(xa.maps, key), getattr(xb.maps, key))
            self.file(where, f"map {key}", pair, compare_maps, "maps")
        by_desc = {c.desc: c for c in xb.corrections}
        descs_a = [c.desc for c in xa.corrections]
        self._matched(where, "correction", descs_a, [c.desc for c in xb.corrections])
        for corr in xa.corrections:
            if corr.desc in by_desc:
                self.correction(where, corr, by_desc[corr.desc])

    def correction(self, where: tuple[str, ...], xa: Correction, xb: Correction) -> None:
        self.counts["corrections"] += 1
        where = (*where, f"correction {xa.desc!r}")
        ja, jb = encode(xa), encode(xb)
        for key in _FILE_KEYS:
            ja.pop(key, None), jb.pop(key, None)
        self.tree(where, "", ja, jb)
        self.file(where, "map z (thresholded)", (xa.map, xb.map), compare_maps, "maps")
        for label in [*xa.maps, *(k for k in xb.maps if k not in xa.maps)]:
            pair = (xa.maps.get(label), xb.maps.get(label))
            self.file(where, f"map {label}", pair, compare_maps, "maps")
        self.file(
            where, "cluster index map", (xa.cluster_map, xb.cluster_map), compare_maps, "maps"
        )
        self.file(
            where,
            "clusters table",
            (xa.clusters_table, xb.clusters_table),
            compare_tables,
            "tables",
        )
        self.file(where, "peaks table", (xa.peaks_table, xb.peaks_table), compare_tables, "tables")
        self.file(where, "arrays", (xa.arrays, xb.arrays), compare_arrays, "arrays")


# ---------------------------------------------------------------------------------------------
# in words

#: Lines printed per group before the rest are counted.
MAX_LINES_PER_GROUP = 20


def format_comparison(comparison: Comparison) -> list[str]:
    """The comparison as lines of text: the differences grouped by part, contrast and
    correction (indented), the notes, then one closing line."""
    lines: list[str] = []
    previous: tuple[str, ...] = ()
    shown = 0
    for diff in comparison.differences:
        if diff.where != previous:
            common = next(
                (i for i, (x, y) in enumerate(zip(diff.where, previous, strict=False)) if x != y),
                min(len(diff.where), len(previous)),
            )
            for depth in range(common, len(diff.where)):
                lines.append("  " * depth + f"{diff.where[depth]}:")
            previous, shown = diff.where, 0
        shown += 1
        if shown <= MAX_LINES_PER_GROUP:
            lines.append("  " * len(diff.where) + diff.what)
        elif shown == MAX_LINES_PER_GROUP + 1:
            rest = sum(1 for d in comparison.differences if d.where == diff.where)
            lines.append("  " * len(diff.where) + f"... and {rest - MAX_LINES_PER_GROUP} more")
    lines.extend(f"note: {note}" for note in comparison.notes)
    lines.append(_closing(comparison))
    return lines


def _closing(comparison: Comparison) -> str:
    counts = comparison.counts
    compared = ", ".join(
        f"{n} {key if n != 1 else key[:-1]}" for key, n in counts.items() if n or key == "maps"
    )
    n = len(comparison.differences)
    verdict = "equal" if comparison.equal else f"{n} difference{'s' if n != 1 else ''}"
    return (
        f"{verdict} ({compared} compared; tolerance {comparison.tolerance:g}; provenance "
        "except seeds, report files and sidecars ignored)"
    )
