"""A study's group level: each first-level contrast taken to the group.

For every first-level contrast the subjects' effect maps (read back from their folders) are
the inputs of an ordinary second-level model (:func:`prepare_second_level`): the study's group
design, ``participants.tsv`` columns joined on the subject, the group mask (the voxels inside
every subject's mask), then the corrections (:func:`infer`) and atlas labels as for any
second-level run. With the default group contrast (the group mean, ``intercept``) the result
keeps the first-level contrast's name; other group contrasts are named
``<first-level name> / <group contrast name>``.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pandas as pd

from ..config.specs import ContrastSpec, InputsSpec, ModelConfig, RunConfig
from ..errors import ContrastError
from ..outputs.write import write_nifti
from .group_nulls import cluster_nulls
from .infer import infer, label
from .prepared import Log, Prepared
from .qc import combined_checks
from .second_level import prepare_second_level

GROUP_MASK_RULE = (
    "voxels inside every subject's mask (each the intersection of its runs' brain masks)"
)
MEAN = ContrastSpec(name="group mean", stat_type="t", definition="intercept", where="group")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class GroupResult:
    """The group results of every first-level contrast, ready to be written."""

    prepared: Prepared
    results: list[tuple[Any, list[Any]]]
    atlases: list[dict[str, Any]]
    inputs: list[dict[str, Any]]
    qc: dict[str, Any] | None = None


def group_mask(stage: Path, records: Sequence[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """The intersection of the subjects' masks (``sub-<id>/mask.nii.gz``) and its affine."""
    imgs = [nib.load(stage / r["folder"] / "mask.nii.gz") for r in records]
    affine = np.asarray(imgs[0].affine, dtype=float)
    for record, img in zip(records, imgs, strict=True):
        if img.shape != imgs[0].shape or not np.allclose(img.affine, affine, atol=1e-4):
            raise ContrastError(
                f"sub-{record['id']}'s maps are on another voxel grid than sub-"
                f"{records[0]['id']}'s ({img.shape} vs {imgs[0].shape}); a group analysis "
                "needs every subject in one space and resolution (check model.space and res)"
            )
    mask = np.logical_and.reduce([np.asarray(i.dataobj) > 0 for i in imgs])
    if not mask.any():
        raise ContrastError("the subjects' masks have no voxel in common")
    return mask, affine


def _group_contrasts(config: RunConfig, first: ContrastSpec) -> tuple[ContrastSpec, ...]:
    specs = config.model.study.group_contrasts
    if not specs:
        return (dataclasses.replace(MEAN, name=first.name),)
    return tuple(dataclasses.replace(g, name=f"{first.name} / {g.name}") for g in specs)


def _corrections(config: RunConfig, first: ContrastSpec, names: Sequence[str]) -> tuple:
    """The entries that apply to this first-level contrast's group results."""
    out = []
    for spec in config.corrections:
        if spec.contrasts is None or first.name in spec.contrasts:
            out.append(dataclasses.replace(spec, contrasts=None))
        elif any(n in spec.contrasts for n in names):
            out.append(dataclasses.replace(spec, contrasts=tuple(spec.contrasts)))
    return tuple(out)


def group_level(
    config: RunConfig,
    stage: Path,
    records: Sequence[dict[str, Any]],
    participants: pd.DataFrame | None,
    *,
    target: Path,
    progress: bool,
    log: Log,
    scheduler: str | None = None,
) -> GroupResult:
    """Fit, correct and label the group results of every first-level contrast.

    With a ``scheduler``, permutation nulls run as chunks on that Dask cluster
    (:mod:`.group_nulls`); the results are identical.
    """
    study = config.model.study
    mask, affine = group_mask(stage, records)
    found: list[tuple[Prepared, list, list]] = []
    inputs: list[dict[str, Any]] = []
    checked: list[tuple[RunConfig, Prepared]] = []
    with (
        tempfile.TemporaryDirectory(prefix="glmreport-group-") as tmp,
        cluster_nulls(config, scheduler, progress=progress, log=log) as null_runner,
    ):
        mask_file = Path(tmp) / "group_mask.nii.gz"
        write_nifti(mask_file, mask, affine)
        for first in (c for c in config.contrasts if not c.conjunction):
            rows = []
            for record in records:
                row = {"path": str(stage / record["effects"][first.name]), "sub": record["id"]}
                if participants is not None:
                    values = participants.loc[participants["sub"] == record["id"]]
                    for col in participants.columns:
                        if col not in ("sub", "path") and len(values):
                            row[col] = _plain(values.iloc[0][col])
                rows.append(row)
            specs = _group_contrasts(config, first)
            sub_config = dataclasses.replace(
                config,
                model=ModelConfig(
                    level="second",
                    inputs=InputsSpec(kind="list", rows=tuple(rows), base_dir=stage),
                    design=study.group,
                    mask=mask_file,
                    space=config.model.space,
                ),
                contrasts=specs,
                corrections=_corrections(config, first, [s.name for s in specs]),
            )
            log(f"group level of '{first.name}' ({len(rows)} subjects)")
            prepared = prepare_second_level(sub_config, log=log)
            results = infer(
                sub_config, prepared, progress=progress, log=log, null_runner=null_runner
            )
            results, atlases = label(sub_config, prepared, results, log)
            found.append((prepared, results, atlases))
            checked.append((sub_config, prepared))
            for row in prepared.inputs:
                rel = Path(row["path"]).relative_to(stage)
                inputs.append({**row, "path": str(target / rel), "contrast": first.name})
    prepared = found[0][0]
    model = {
        **prepared.model,
        "mask": {"source": "subjects", "rule": GROUP_MASK_RULE, "n_voxels": int(mask.sum())},
    }
    return GroupResult(
        prepared=dataclasses.replace(prepared, model=model),
        results=[r for _, results, _ in found for r in results],
        atlases=found[0][2],
        inputs=inputs,
        qc=combined_checks(checked),
    )


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value
