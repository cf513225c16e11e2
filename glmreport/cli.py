"""Command line: ``glmreport run | validate | report | demo | atlases | schema``.

Exit codes: 0 success, 2 bad config or input (one clear message, nothing written),
1 internal error, 130 interrupted (Ctrl-C), 128 + N stopped by signal N (143 for SIGTERM,
129 for SIGHUP); an interrupted or stopped run leaves no partial folder behind.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ._version import __version__
from .errors import GlmReportError


class _Console:
    """Prints progress lines to stderr unless quiet; results to stdout."""

    def __init__(self, *, quiet: bool = False, verbose: bool = False) -> None:
        self.quiet, self.verbose = quiet, verbose
        self.t0 = time.perf_counter()

    def log(self, message: str) -> None:
        if not self.quiet:
            print(f"[{time.perf_counter() - self.t0:6.1f}s] {message}", file=sys.stderr, flush=True)

    def say(self, message: str) -> None:
        print(message, flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glmreport",
        description="fMRI GLMs from one YAML run-config to one standalone HTML/PDF report.",
    )
    parser.add_argument("--version", action="version", version=f"glmreport {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        g = p.add_mutually_exclusive_group()
        g.add_argument("-q", "--quiet", action="store_true", help="print only errors and results")
        g.add_argument("-v", "--verbose", action="store_true", help="show tracebacks on errors")

    p = sub.add_parser("run", help="fit the model, apply corrections, write results and report")
    p.add_argument("config", type=Path, help="YAML run-config")
    p.add_argument("--out", type=Path, help="results folder (overrides the config's 'output')")
    p.add_argument("--overwrite", action="store_true", help="replace an existing results folder")
    p.add_argument("--pdf", action="store_true", help="also write report.pdf")
    p.add_argument("--no-report", action="store_true", help="write no report (batch runs)")
    common(p)

    p = sub.add_parser("validate", help="check config and inputs without fitting")
    p.add_argument("config", type=Path)
    common(p)

    p = sub.add_parser("report", help="re-render the report of an existing results folder")
    p.add_argument("results", type=Path, help="results folder (with summary.json)")
    p.add_argument("--pdf", action="store_true", help="also write report.pdf")
    common(p)

    p = sub.add_parser("demo", help="write a synthetic group dataset, run it, print where")
    p.add_argument("--out", type=Path, default=Path("glmreport-demo"), help="demo folder")
    p.add_argument("--overwrite", action="store_true", help="replace an existing demo folder")
    p.add_argument("--no-pdf", action="store_true", help="write only the HTML report")
    common(p)

    p = sub.add_parser("atlases", help="list or prefetch atlases")
    asub = p.add_subparsers(dest="atlas_command", required=True, metavar="ACTION")
    a = asub.add_parser("list", help="registry atlases and whether they are available offline")
    common(a)
    a = asub.add_parser("fetch", help="download atlases into the TemplateFlow cache")
    a.add_argument("names", nargs="+")
    common(a)

    p = sub.add_parser("schema", help="print the JSON Schema of summary.json or of a config")
    p.add_argument("which", choices=SCHEMAS, help="summary: results folder; config: run-config")
    common(p)
    return parser


def _cmd_run(args: argparse.Namespace, con: _Console) -> int:
    from .config import load_config
    from .pipeline import run

    config = load_config(args.config)
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
        progress=not args.quiet,
        log=con.log,
        command=args.argv,
    )
    _print_outputs(out, con)
    return 0


def _print_outputs(out: Path, con: _Console) -> None:
    con.say(f"results: {out}")
    for name in ("report.html", "report.pdf"):
        if (out / name).exists():
            con.say(f"report:  {out / name}")


def _cmd_validate(args: argparse.Namespace, con: _Console) -> int:
    from .config import load_config
    from .pipeline import atlas_warnings, validate

    config = load_config(args.config)
    prepared = validate(config)
    for warning in atlas_warnings(config):
        print(f"warning: {warning}", file=sys.stderr, flush=True)
    model = prepared.model
    unit = "runs" if model["level"] == "first" else "inputs"
    con.say(
        f"{args.config}: OK - {model['level']} level, {model['n_inputs']} {unit}, "
        f"{model['mask']['n_voxels']} voxels in mask, design '{model['design']}' "
        f"({len(model['columns'])} columns, dof {model['dof']}), "
        f"{len(config.contrasts) or len(config.model.maps)} contrasts, "
        f"{len(config.corrections)} corrections"
    )
    return 0


def _cmd_report(args: argparse.Namespace, con: _Console) -> int:
    from .report import render_report

    formats = ("html", "pdf") if args.pdf else ("html",)
    con.log(f"rendering {', '.join(formats)}")
    written = render_report(args.results, formats=formats)
    for path in written.values():
        con.say(f"report:  {path}")
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
        progress=not args.quiet,
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


COMMANDS = {
    "run": _cmd_run,
    "validate": _cmd_validate,
    "report": _cmd_report,
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``glmreport`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
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
    sys.exit(main())
