"""Command line: ``glmreport run | validate | report | diff | demo | atlases | schema``.

Exit codes: 0 success (``diff``: equal), 2 bad config or input (one clear message, nothing
written), 3 ``diff``: the folders differ, 1 internal error, 130 interrupted (Ctrl-C), 128 + N
stopped by signal N (143 for SIGTERM, 129 for SIGHUP); an interrupted or stopped run leaves no
partial folder behind. Progress goes to stderr as plain timed lines; a progress bar is drawn
only when stderr is a terminal (a CI log gets lines, never a bar's carriage returns).
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ._version import __version__
from .errors import GlmReportError


class _Console:
    """Prints progress lines to stderr unless quiet; results to stdout.

    ``bars``: whether long steps may draw a progress bar (not quiet, and stderr is a terminal).
    """

    def __init__(self, *, quiet: bool = False, verbose: bool = False) -> None:
        self.quiet, self.verbose = quiet, verbose
        self.t0 = time.perf_counter()
        isatty = getattr(sys.stderr, "isatty", None)
        self.bars = not quiet and bool(isatty and isatty())

    def log(self, message: str) -> None:
        if not self.quiet:
            print(f"[{time.perf_counter() - self.t0:6.1f}s] {message}", file=sys.stderr, flush=True)

    def say(self, message: str) -> None:
        print(message, flush=True)


_EPILOG = (
    "-q/--quiet and -v/--verbose may come before or after the command. Exit codes: 0 success "
    "(diff: equal), 1 internal error, 2 bad config, input or output location, 3 diff: the "
    "folders differ, 130 interrupted, 128 + N stopped by signal N."
)


def _flags(p: argparse.ArgumentParser, *, top: bool = False) -> None:
    """-q/--quiet and -v/--verbose, accepted before the command and after it.

    A subcommand's flags default to SUPPRESS, so that one given before the command is not
    reset by the subcommand's parser.
    """
    default = {} if top else {"default": argparse.SUPPRESS}
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print only errors and results (no progress lines)",
        **default,
    )
    g.add_argument(
        "-v", "--verbose", action="store_true", help="show tracebacks on errors", **default
    )


def _command(sub: Any, name: str, text: str, **kwargs: Any) -> argparse.ArgumentParser:
    """A subcommand whose one-line help is also the start of its description."""
    p = sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".", **kwargs)
    _flags(p)
    return p


def _tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value >= 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a finite number >= 0")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glmreport",
        description="fMRI GLMs from one YAML run-config to one standalone HTML/PDF report.",
        epilog=_EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"glmreport {__version__}")
    _flags(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = _command(sub, "run", "fit the model, apply the corrections, write results and report")
    p.add_argument("config", type=Path, help="YAML run-config")
    p.add_argument("--out", type=Path, help="results folder (overrides the config's 'output')")
    p.add_argument(
        "--overwrite", action="store_true", help="replace a results folder glmreport wrote"
    )
    p.add_argument("--pdf", action="store_true", help="also write report.pdf")
    p.add_argument("--no-report", action="store_true", help="write no report (batch runs)")
    p.add_argument(
        "--jobs", type=int, metavar="N", help="study: local worker processes (default: the cores)"
    )
    p.add_argument(
        "--scheduler", metavar="ADDRESS", help="study: fit the runs on this Dask scheduler"
    )
    p.add_argument(
        "--resume", action="store_true", help="study: keep unchanged subjects of an earlier run"
    )

    p = _command(sub, "validate", "check the config and its inputs without fitting")
    p.add_argument("config", type=Path, help="YAML run-config")

    p = _command(sub, "report", "re-render the report of an existing results folder")
    p.add_argument("results", type=Path, help="results folder (with summary.json)")
    p.add_argument(
        "--pdf",
        action="store_true",
        help="also write report.pdf (without it, a report.pdf glmreport wrote there earlier is "
        "removed, so that no stale PDF stays beside the new HTML)",
    )

    p = _command(
        sub,
        "diff",
        "compare two results folders: exit 0 when equal, 3 when they differ",
        epilog="Compared: config, model, inputs, design, mask, contrasts, corrections, "
        "thresholds, counts, tables and every map (voxel by voxel). Ignored: provenance "
        "except the seeds, the glmreport version, the report files and the map sidecars.",
    )
    p.add_argument("a", type=Path, metavar="A", help="results folder")
    p.add_argument("b", type=Path, metavar="B", help="results folder to compare with A")
    p.add_argument(
        "--tolerance",
        type=_tolerance,
        metavar="T",
        help="largest absolute difference of two numbers taken as equal (default 1e-06)",
    )

    p = _command(
        sub,
        "demo",
        "write a synthetic group dataset, run it, and print where its config and report are",
    )
    p.add_argument("--out", type=Path, default=Path("glmreport-demo"), help="demo folder")
    p.add_argument(
        "--overwrite", action="store_true", help="replace a demo folder glmreport demo wrote"
    )
    p.add_argument("--no-pdf", action="store_true", help="write only the HTML report")

    p = sub.add_parser(
        "atlases",
        help="list or prefetch atlases",
        description="List the registry's atlases or prefetch them into the TemplateFlow cache.",
    )
    _flags(p)
    asub = p.add_subparsers(dest="atlas_command", required=True, metavar="ACTION")
    _command(asub, "list", "list the registry's atlases and whether they are available offline")
    a = _command(asub, "fetch", "download atlases into the TemplateFlow cache")
    a.add_argument("names", nargs="+", metavar="NAME", help="atlas name (see 'atlases list')")

    p = _command(sub, "schema", "print the JSON Schema of summary.json or of a run-config")
    p.add_argument("which", choices=SCHEMAS, help="summary: results folder; config: run-config")
    return parser


def _cmd_run(args: argparse.Namespace, con: _Console) -> int:
    from .config import load_config

    config = load_config(args.config)  # a bad config fails before any numerical import

    from .inputs import prefetch

    # the first input files are hashed and inflated on a thread during the imports below
    prefetch.start(prefetch.plan(config))
    try:
        with _imports_without_collection():
            from .pipeline import run

        formats = config.report.formats
        if args.no_report:
            formats = ()
        elif args.pdf and "pdf" not in formats:
            formats = (*formats, "pdf") if formats else ("html", "pdf")
        out = run(
            config,
            out=args.out,
            overwrite=args.overwrite,
            formats=formats,
            progress=con.bars,
            log=con.log,
            command=args.argv,
            jobs=args.jobs,
            scheduler=args.scheduler,
            resume=args.resume,
        )
    finally:
        prefetch.stop()
    _print_outputs(out, con)
    return 0


def _print_outputs(out: Path, con: _Console) -> None:
    con.say(f"results: {out}")
    for name in ("report.html", "report.pdf"):
        if (out / name).exists():
            con.say(f"report:  {out / name}")


def _count(n: int, noun: str) -> str:
    """``1 column``, ``2 columns``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _cmd_validate(args: argparse.Namespace, con: _Console) -> int:
    from .config import load_config

    config = load_config(args.config)

    from .pipeline import atlas_warnings, validate

    prepared = validate(config)
    for warning in atlas_warnings(config):
        print(f"warning: {warning}", file=sys.stderr, flush=True)
    if prepared is None:  # a study: its runs were found and checked, nothing fitted
        con.say(f"{args.config}: OK - study level, {len(config.contrasts)} contrasts")
        return 0
    model = prepared.model
    unit = "run" if model["level"] == "first" else "input"
    con.say(
        f"{args.config}: OK - {model['level']} level, {_count(model['n_inputs'], unit)}, "
        f"{_count(model['mask']['n_voxels'], 'voxel')} in mask, design '{model['design']}' "
        f"({_count(len(model['columns']), 'column')}, dof {model['dof']}), "
        f"{_count(len(config.contrasts) or len(config.model.maps), 'contrast')}, "
        f"{_count(len(config.corrections), 'correction')}"
    )
    return 0


def _cmd_report(args: argparse.Namespace, con: _Console) -> int:
    from .report import render_report

    formats = ("html", "pdf") if args.pdf else ("html",)
    con.log(f"rendering {', '.join(formats)}")
    pdf = Path(args.results) / "report.pdf"
    had_pdf = pdf.is_file()
    written = render_report(args.results, formats=formats)
    for path in written.values():
        con.say(f"report:  {path}")
    if had_pdf and not pdf.exists():
        con.log(f"removed {pdf}, written for the earlier report (pass --pdf for a new one)")
    return 0


def _cmd_demo(args: argparse.Namespace, con: _Console) -> int:
    from .config import load_config
    from .datasets import write_demo
    from .outputs.safety import check_demo_folder
    from .pipeline import run

    folder = args.out.resolve()
    # an earlier demo folder (it holds .glmreport-demo) is replaced; any other is refused
    if check_demo_folder(folder, overwrite=args.overwrite):
        con.log(f"removing the earlier demo in {folder}")
        shutil.rmtree(folder)
    con.log(f"writing synthetic dataset to {folder}")
    config_path = write_demo(folder)
    config = load_config(config_path)
    formats = ("html",) if args.no_pdf else ("html", "pdf")
    out = run(
        config,
        formats=formats,
        progress=con.bars,
        log=con.log,
        command=args.argv,
    )
    con.say(f"config:  {config_path}")
    _print_outputs(out, con)
    return 0


def _cmd_atlases(args: argparse.Namespace, con: _Console) -> int:
    from .labels.templateflow import fetch_atlases, list_atlases

    if args.atlas_command == "list":
        for entry in list_atlases():
            status = "available" if entry.get("available") else "not in cache"
            con.say(f"{entry['name']:<32} {entry.get('space', ''):<22} {status}")
        return 0
    failed = 0
    for name, ok, message in fetch_atlases(args.names):
        con.say(f"{name}: {'ok' if ok else 'FAILED'} {message}")
        failed += not ok
    return 2 if failed else 0


#: ``glmreport schema WHICH``: module and function that make each schema (imported lazily).
SCHEMAS = {
    "summary": ("glmreport.outputs.schema", "summary_schema"),
    "config": ("glmreport.config.schema", "config_schema"),
}


def _cmd_schema(args: argparse.Namespace, con: _Console) -> int:
    import importlib
    import json

    module, name = SCHEMAS[args.which]
    schema = getattr(importlib.import_module(module), name)()
    con.say(json.dumps(schema, indent=2, ensure_ascii=False))
    return 0


def _cmd_diff(args: argparse.Namespace, con: _Console) -> int:
    from .outputs.compare import DEFAULT_TOLERANCE, compare_results, format_comparison

    tolerance = DEFAULT_TOLERANCE if args.tolerance is None else args.tolerance
    comparison = compare_results(args.a, args.b, tolerance=tolerance)
    for line in format_comparison(comparison):
        con.say(line)
    return 0 if comparison.equal else 3


COMMANDS = {
    "run": _cmd_run,
    "validate": _cmd_validate,
    "report": _cmd_report,
    "diff": _cmd_diff,
    "demo": _cmd_demo,
    "atlases": _cmd_atlases,
    "schema": _cmd_schema,
}


class Terminated(BaseException):
    """Raised in the main thread by SIGTERM or SIGHUP, so that cleanup runs as for Ctrl-C.

    Parameters
    ----------
    signum : int
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


_STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into :class:`Terminated` for the duration of one command.

    Installed by :func:`main` only (library callers keep their own handlers) and only in the
    main thread. Once one arrives, later ones are ignored so that the cleanup can finish.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        for sig in _STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        raise Terminated(signum)

    previous = {sig: signal.signal(sig, handler) for sig in _STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


#: True in a ``glmreport`` process of its own (:func:`entry`); False when :func:`main` is
#: called from Python (a test, a notebook), whose garbage collector is left alone.
_OWN_PROCESS = False


@contextmanager
def _imports_without_collection() -> Iterator[None]:
    """In a process of its own: no garbage collection while the pipeline's modules import
    (imports make no garbage, and collecting over the growing heap of NumPy, SciPy and pandas
    costs about 5 % of the imports), then their objects frozen out of later collections."""
    if not _OWN_PROCESS:
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def entry() -> None:
    """The ``glmreport`` command (console script and ``python -m glmreport``): :func:`main`
    in a process of its own, then exit.

    Before exiting, every object is frozen out of garbage collection (:func:`gc.freeze`), so
    that the interpreter's last collection does not walk the whole heap (about 0.2 s after a
    run) to free memory that the operating system takes back anyway. ``atexit`` hooks (temporary
    folders among them) and the flushing of the standard streams happen as usual; finalizers of
    objects left in reference cycles at exit do not run (glmreport closes its files, pools and
    clients before returning and relies on no such finalizer).
    """
    global _OWN_PROCESS
    _OWN_PROCESS = True
    code = main()
    gc.freeze()
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``glmreport`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    args = parser.parse_args(argv)
    if args.quiet and args.verbose:  # one before the command, the other after it
        parser.error("argument -v/--verbose: not allowed with argument -q/--quiet")
    # the command line recorded in provenance (absolute paths are made shareable there)
    args.argv = ["glmreport", *map(str, argv)]
    con = _Console(quiet=args.quiet, verbose=args.verbose)
    try:
        with _stop_on_signals():
            return COMMANDS[args.command](args, con)
    except GlmReportError as exc:
        print(f"glmreport: error: {exc}", file=sys.stderr)
        if args.verbose:
            traceback.print_exc()
        return 2
    except BrokenPipeError:  # the reader of stdout went away (| head): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout
        return 128 + getattr(signal, "SIGPIPE", 13)
    except KeyboardInterrupt:
        print("glmreport: interrupted; no results folder was left behind", file=sys.stderr)
        return 130
    except Terminated as exc:
        name = signal.Signals(exc.signum).name
        print(
            f"glmreport: stopped by {name}; no partial output was left behind",
            file=sys.stderr,
        )
        return 128 + exc.signum
    except Exception:  # noqa: BLE001 - report internal errors with a traceback
        traceback.print_exc()
        print(
            "glmreport: internal error (a bug, not your input); please report it with the "
            "traceback above",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    entry()
