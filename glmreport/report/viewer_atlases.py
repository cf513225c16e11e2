"""The atlases the slice viewer reads labels from, found again where the run found them.

The results folder records each atlas by name and file (``summary.json`` ``atlases``), not its
image. For the viewer's readout the report looks each deterministic atlas up again, offline:
a file atlas beside the configuration (paths in the summary are relative to its folder), a
registry atlas in the local TemplateFlow cache (never downloaded). An atlas that cannot be
found is simply left out of the viewer: its labels stay in the tables.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import numpy as np

from .. import figures
from ..config.atlas_registry import registry_spec
from ..config.specs import AtlasSpec
from ..errors import GlmReportError
from ..labels.atlas import load_atlases
from ..outputs.safety import resolve_inside
from ..outputs.summary import AtlasRecord, Summary
from .context import Context
from .viewer import ViewerAtlas


def config_folder(summary: Summary, results_dir: Path) -> Path | None:
    """The configuration's folder, from the results folder as the run named it (relative).

    Only the depth of that name counts: a run renders its report in a staging folder beside
    the final one (``.NAME.partial-PID``), at the same depth.
    """
    named = PurePosixPath(summary.provenance.results_folder or "")
    parts = [p for p in named.parts if p not in ("", ".")]
    if not parts or named.is_absolute() or ".." in parts or len(parts) >= len(results_dir.parts):
        return None
    return results_dir.parents[len(parts) - 1]


def _spec(record: AtlasRecord, base: Path | None) -> AtlasSpec | None:
    if record.source == "registry":
        try:
            return registry_spec(record.name)
        except GlmReportError:
            return None
    if record.source == "file" and base is not None and record.image:
        try:  # relative, no "..", no link out of the config's folder
            image = resolve_inside(base, record.image, what="atlases.image")
            labels = (
                resolve_inside(base, record.labels, what="atlases.labels")
                if record.labels
                else None
            )
        except GlmReportError:
            return None
        if not image.is_file() or (labels is not None and not labels.is_file()):
            return None
        return AtlasSpec(
            name=record.name,
            source="file",
            file=image,
            labels=labels,
            kind="deterministic",
            space=record.space,
            where="summary.json atlases",
        )
    return None


def viewer_atlases(summary: Summary, results_dir: Path, ctx: Context) -> list[ViewerAtlas]:
    """The run's deterministic atlases that can be found offline, on the display grid."""
    base = config_folder(summary, results_dir)
    out = []
    for record in summary.atlases:
        if record.status != "ok" or record.kind != "deterministic":
            continue
        spec = _spec(record, base)
        if spec is None:
            continue
        try:
            (loaded,) = load_atlases([spec], data_space=None, download=False)
        except (GlmReportError, OSError, ValueError):
            continue
        if not loaded.ok or loaded.data is None or loaded.affine is None:
            continue
        codes = figures.to_display(loaded.data.astype(np.float32), loaded.affine, ctx.background)
        out.append(
            ViewerAtlas(
                name=record.name,
                codes=np.rint(codes).astype(np.int32),
                names=loaded.names,
            )
        )
    return out
