"""Re-render the report of an existing results folder (no refitting)."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError, OutputError
from ..outputs.readback import read_summary
from ..outputs.results import SUMMARY
from ..outputs.write import write_json
from .build import write_report


def render_report(
    results_dir: str | Path, *, formats: tuple[str, ...] = ("html",)
) -> dict[str, Path]:
    """Render the report of a results folder and record it in summary.json (no refitting).

    Parameters
    ----------
    results_dir : str or Path
        A folder written by :func:`glmreport.outputs.results.write_results`.
    formats : tuple of {'html', 'pdf'}

    Returns
    -------
    dict of str -> Path
        The written report files by format.
    """
    folder = Path(results_dir)
    summary_path = folder / SUMMARY
    if not summary_path.is_file():
        raise InputError(
            f"{folder} is not a glmreport results folder (no {SUMMARY}); run "
            "'glmreport run CONFIG' first"
        )
    written = write_report(folder, formats=tuple(formats))
    summary = read_summary(folder)
    summary["report"] = {fmt: Path(p).name for fmt, p in written.items()}
    try:
        write_json(summary_path, summary)
    except OSError as exc:
        raise OutputError(f"cannot update {summary_path}: {exc.strerror or exc}") from None
    return written
