"""TemplateFlow: the client, its local index and cache, and downloads with a time limit.

``templateflow`` is imported lazily (``TEMPLATEFLOW_HOME`` is read when it is imported). A
query is listed in the local index first (no network); a file absent from the cache is
downloaded on a daemon thread abandoned after a timeout, so a hanging connection cannot stall
a run. A file that cannot be had comes back as a "missing" message saying how to get it.
Also the ``glmreport atlases list`` / ``fetch`` commands' lookups of registry atlases.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..config.atlas_registry import atlas_error, registry, registry_keys
from ..config.specs import AtlasKind, AtlasSpec
from ..errors import suggest
from .label_files import NIFTI_EXTENSIONS
from .tf_index import cached_listing

#: Seconds a TemplateFlow download may take during a run before the atlas is declared missing.
DEFAULT_TIMEOUT_S = 30.0
#: Seconds a download may take with ``glmreport atlases fetch``.
FETCH_TIMEOUT_S = 300.0

_CLIENTS: dict[Path, Any] = {}
_IN_FLIGHT: set[Path] = set()
_LOCK = threading.Lock()


class TemplateFlowUnavailable(Exception):
    """TemplateFlow cannot serve the query (not cached, no network, import failure)."""


def _tf_client() -> tuple[Any, Path]:
    """TemplateFlow client for the current ``TEMPLATEFLOW_HOME`` and its root folder.

    ``templateflow.api`` is bound to the home set when it was first imported; if the variable
    changed since, a client for the new home is made (templateflow >= 25).
    """
    try:
        with warnings.catch_warnings():
            # A fresh home makes templateflow warn and unpack its bundled index (no network).
            warnings.simplefilter("ignore", ResourceWarning)
            from templateflow import api, conf
    except Exception as exc:  # noqa: BLE001 - any import failure means "not available"
        raise TemplateFlowUnavailable(
            f"templateflow could not be imported ({type(exc).__name__}: {exc})"
        ) from exc
    api_root = Path(conf.TF_HOME).absolute()
    env_home = os.environ.get("TEMPLATEFLOW_HOME")
    if not env_home or Path(env_home).absolute() == api_root:
        return api, api_root
    root = Path(env_home).absolute()
    with _LOCK:
        client = _CLIENTS.get(root)
        if client is None:
            try:
                from templateflow import TemplateFlowClient
            except ImportError:  # older templateflow: only the import-time home is usable
                return api, api_root
            client = TemplateFlowClient(root=root)
            _CLIENTS[root] = client
    return client, root


def _as_paths(result: Any) -> list[Path]:
    if isinstance(result, (list, tuple)):
        return [Path(p) for p in result]
    return [Path(result)]


def _is_fetched(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


def _tf_call(query: dict[str, Any]) -> str:
    """The ``api.get`` call reproducing ``query`` (for messages)."""
    args = [repr(query["template"])]
    args += [f"{k}={v!r}" for k, v in query.items() if k != "template"]
    return f"api.get({', '.join(args)})"


def _tf_get(query: dict[str, Any], *, download: bool, timeout_s: float) -> list[Path]:
    """Resolve one TemplateFlow query to local files, downloading only when allowed.

    The local index is listed first, from the file names (:func:`.tf_index.cached_listing`,
    without the seconds pybids takes to index the home; ``ls`` where that cannot answer), with
    no network. Files all in the cache are returned as listed. Otherwise ``get`` runs in a
    daemon thread and is abandoned after ``timeout_s`` seconds, so a hanging connection cannot
    stall the run.

    Raises
    ------
    TemplateFlowUnavailable
        With the reason.
    """
    client, root = _tf_client()
    template = query["template"]
    kwargs = {k: v for k, v in query.items() if k != "template"}
    named = cached_listing(root, template, **kwargs)
    if named and all(_is_fetched(p) for p in named):
        return named
    if named is not None and (not named or not download):
        listed = named
    else:  # pybids' index: also what a download needs first
        try:
            listed = [Path(p) for p in client.ls(template, **kwargs)]
        except Exception as exc:  # noqa: BLE001 - a broken index must not stop the run
            raise TemplateFlowUnavailable(
                f"the TemplateFlow index could not be read ({type(exc).__name__})"
            ) from exc
    if not listed:
        raise TemplateFlowUnavailable("no such file in the TemplateFlow index")
    if all(_is_fetched(p) for p in listed):
        try:
            return _as_paths(client.get(template, **kwargs))
        except Exception:  # noqa: BLE001 - files are there: use them as listed
            return listed
    if not download:
        raise TemplateFlowUnavailable(
            "not downloaded into the TemplateFlow cache (downloads are off)"
        )
    return _download(client, root, template, kwargs, listed, timeout_s)


def _download(
    client: Any,
    root: Path,
    template: str,
    kwargs: dict[str, Any],
    listed: list[Path],
    timeout_s: float,
) -> list[Path]:
    """``client.get`` on a daemon thread, abandoned after ``timeout_s`` seconds.

    A file already being downloaded (by an earlier, possibly hung, call) is not asked for
    twice.
    """
    with _LOCK:
        busy = [p for p in listed if p in _IN_FLIGHT]
        if busy:
            raise TemplateFlowUnavailable(
                f"an earlier download of {busy[0].name} is still running or hung"
            )
        _IN_FLIGHT.update(listed)

    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["paths"] = _as_paths(client.get(template, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - reported to the caller
            outcome["error"] = exc
        finally:
            with _LOCK:
                _IN_FLIGHT.difference_update(listed)

    worker = threading.Thread(target=work, name="glmreport-templateflow-get", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise TemplateFlowUnavailable(
            f"the download did not finish within {timeout_s:g} s (no network?)"
        )
    if "error" in outcome:
        raise TemplateFlowUnavailable(
            "it is not in the TemplateFlow cache and could not be downloaded "
            f"({_failure(outcome['error'])})"
        )
    paths = outcome.get("paths", [])
    if not paths or not all(_is_fetched(p) for p in paths):
        raise TemplateFlowUnavailable("the download left no usable file in the TemplateFlow cache")
    return paths


def _failure(exc: BaseException) -> str:
    """Why a download failed, in words fit for a report: no raw exception text (it names
    hosts, proxies and cache paths), only the kind of failure."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    text = str(exc)
    if isinstance(exc, ConnectionError | TimeoutError) or any(
        word in name or word in text
        for name in names
        for word in ("Connection", "NameResolution", "MaxRetry", "Timeout")
    ):
        return "no network connection"
    return f"{type(exc).__name__}"


def _tf_image_query(tf: dict[str, Any], suffix: str) -> dict[str, Any]:
    """The TemplateFlow query of an atlas image (resolution 2 unless given)."""
    return {
        "template": tf["template"],
        "resolution": int(tf.get("resolution") or 2),
        "atlas": tf["atlas"],
        "desc": tf.get("desc"),
        "suffix": suffix,
        "extension": list(NIFTI_EXTENSIONS),
    }


def _tf_label_queries(tf: dict[str, Any], suffix: str) -> list[dict[str, Any]]:
    """Candidate queries for the label TSV, most specific first (TSVs often lack ``desc``)."""
    out: list[dict[str, Any]] = []
    for suf in dict.fromkeys((suffix, "dseg")):
        for desc in dict.fromkeys((tf.get("desc"), None)):
            query = {
                "template": tf["template"],
                "atlas": tf["atlas"],
                "desc": desc,
                "suffix": suf,
                "extension": ".tsv",
            }
            if query not in out:
                out.append(query)
    return out


def fetch_hint(tf: dict[str, Any], suffix: str, registry_key: str | None) -> str:
    """How to get a TemplateFlow atlas file: the CLI command and the Python call."""
    query = {k: v for k, v in _tf_image_query(tf, suffix).items() if k != "extension"}
    python = f'python -c "from templateflow import api; {_tf_call(query)}"'
    ways = []
    if registry_key:
        ways.append(f"`glmreport atlases fetch {registry_key}`")
    ways.append(f"`{python}`")
    return (
        f"With network access run {' or '.join(ways)}, or set TEMPLATEFLOW_HOME to a "
        "TemplateFlow folder that already holds it."
    )


def tf_suffixes(tf: dict[str, Any], kind: AtlasKind) -> list[str]:
    """TemplateFlow suffixes to try for an atlas of ``kind`` (``dseg``, ``probseg``)."""
    if tf.get("suffix"):
        return [str(tf["suffix"])]
    if kind == "probabilistic":
        return ["probseg"]
    if kind == "deterministic":
        return ["dseg"]
    return ["dseg", "probseg"]


def resolve_templateflow(
    spec: AtlasSpec,
    tf: dict[str, Any],
    *,
    registry_key: str | None,
    download: bool,
    timeout_s: float,
) -> tuple[Path, Path | None, str] | str:
    """Local image and label paths, or the "missing" message."""
    describe = (
        f"TemplateFlow {tf['template']} atlas-{tf['atlas']}"
        + (f" desc-{tf['desc']}" if tf.get("desc") else "")
        + f" res-{int(tf.get('resolution') or 2):02d}"
    )
    reasons: list[str] = []
    image: Path | None = None
    suffixes = tf_suffixes(tf, spec.kind)
    for suffix in suffixes:
        try:
            paths = _tf_get(_tf_image_query(tf, suffix), download=download, timeout_s=timeout_s)
        except TemplateFlowUnavailable as exc:
            reasons.append(str(exc))
            continue
        if len(paths) > 1:
            raise atlas_error(
                spec,
                f"the TemplateFlow query for {describe} matches {len(paths)} files "
                f"({', '.join(p.name for p in paths[:4])}); give desc and resolution exactly.",
            )
        image = paths[0]
        break
    if image is None:
        return (
            f"Atlas '{spec.name}' ({describe} {suffixes[0]}) could not be fetched: "
            f"{reasons[0]}. " + fetch_hint(tf, suffixes[0], registry_key)
        )
    if spec.labels is not None:
        return image, None, describe
    reasons = []
    for query in _tf_label_queries(tf, suffix):
        try:
            tsv = _tf_get(query, download=download, timeout_s=timeout_s)
        except TemplateFlowUnavailable as exc:
            reasons.append(str(exc))
            continue
        return image, tsv[0], describe
    return (
        f"Atlas '{spec.name}' ({describe}): its label table (TSV) could not be fetched: "
        f"{reasons[0]}. Give 'labels:' for this entry, or: " + fetch_hint(tf, suffix, registry_key)
    )


def _registry_paths(key: str, *, download: bool, timeout_s: float) -> tuple[list[Path], str]:
    """Image and label paths of a registry atlas, and a message."""
    entry = registry()[key]
    tf = entry["templateflow"]
    suffix = tf.get("suffix") or "dseg"
    try:
        image = _tf_get(_tf_image_query(tf, suffix), download=download, timeout_s=timeout_s)
    except TemplateFlowUnavailable as exc:
        return [], f"image: {exc}"
    reasons = []
    for query in _tf_label_queries(tf, suffix):
        try:
            tsv = _tf_get(query, download=download, timeout_s=timeout_s)
        except TemplateFlowUnavailable as exc:
            reasons.append(str(exc))
            continue
        return [image[0], tsv[0]], f"available at {image[0]}"
    return [], f"label table: {reasons[-1]}"


def list_atlases() -> list[dict[str, Any]]:
    """Registry atlases and whether each is in the local TemplateFlow cache (no network).

    Returns
    -------
    list of dict
        ``name``, ``title``, ``kind``, ``space``, ``template``, ``atlas``, ``desc``,
        ``resolution``, ``citation``, ``doi``, ``licence``, ``available`` (bool), ``path``
        (image path or None) and ``message``.
    """
    rows = []
    for key, entry in registry().items():
        tf = entry["templateflow"]
        try:
            paths, message = _registry_paths(key, download=False, timeout_s=0.0)
        except TemplateFlowUnavailable as exc:
            paths, message = [], str(exc)
        rows.append(
            {
                "name": key,
                "title": entry.get("title", ""),
                "kind": entry.get("kind", "auto"),
                "space": entry.get("space", tf["template"]),
                "template": tf["template"],
                "atlas": tf["atlas"],
                "desc": tf.get("desc"),
                "resolution": tf.get("resolution"),
                "citation": entry.get("citation", {}).get("text", ""),
                "doi": entry.get("citation", {}).get("doi", ""),
                "licence": entry.get("licence", ""),
                "available": bool(paths),
                "path": str(paths[0]) if paths else None,
                "message": message
                if paths
                else f"not in the local cache ({message}); run `glmreport atlases fetch {key}`",
            }
        )
    return rows


def fetch_atlases(
    names: Iterable[str], *, timeout_s: float = FETCH_TIMEOUT_S
) -> list[tuple[str, bool, str]]:
    """Download registry atlases into the TemplateFlow cache.

    Parameters
    ----------
    names : iterable of str
        Registry keys; unknown keys are reported (with a suggestion), not raised.
    timeout_s : float
        Seconds allowed per file.

    Returns
    -------
    list of (name, ok, message)
    """
    out = []
    keys = registry_keys()
    for name in names:
        if name not in keys:
            out.append(
                (
                    name,
                    False,
                    f"unknown atlas '{name}'.{suggest(name, keys)} Known: {', '.join(keys)}.",
                )
            )
            continue
        try:
            paths, message = _registry_paths(name, download=True, timeout_s=timeout_s)
        except TemplateFlowUnavailable as exc:
            paths, message = [], str(exc)
        out.append((name, bool(paths), message))
    return out
