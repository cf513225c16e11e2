"""The finishing stage every run shares: seeds, inference options, provenance."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

from glmreport.config.load import parse_config
from glmreport.pipeline.finish import (
    Clock,
    Destination,
    correction_seeds,
    inference_options,
    provenance,
)


def test_correction_seeds_by_contrast_and_desc():
    perm = SimpleNamespace(desc="permMaxT", params={"seed": 7, "n_perm": 100})
    fdr = SimpleNamespace(desc="fdr", params={"alpha": 0.05})
    results = [(SimpleNamespace(name="a"), [fdr, perm]), (SimpleNamespace(name="b"), [fdr])]
    assert correction_seeds(results) == {"a/permMaxT": 7}


def test_inference_options_from_the_config(tmp_path: Path):
    text = (
        "model: {inputs: inputs.tsv}\ncontrasts: [{name: m, t: intercept}]\n"
        "clusters: {connectivity: 6, min_distance_mm: 12}\n"
    )
    config = parse_config(text, base_dir=tmp_path)
    options = inference_options(config)
    assert options["connectivity"] == 6 and options["peak_min_distance_mm"] == 12
    assert options["max_subpeaks"] == config.clusters.max_subpeaks


def test_provenance_of_a_finished_and_of_a_running_run(tmp_path: Path):
    started = datetime.now(timezone.utc) - timedelta(seconds=90)
    clock = Clock(started=started, t0=time.perf_counter() - 90.0)
    target = tmp_path / "out" / "results"
    done = provenance(clock, command=None, base=tmp_path, target=target, seeds={"a/x": 1})
    assert done["started"] == started.isoformat(timespec="seconds")
    assert datetime.fromisoformat(done["finished"]) - started >= timedelta(seconds=89)
    assert 90.0 <= done["run_time_s"] < 200.0 and done["seeds"] == {"a/x": 1}
    assert done["results_folder"] == "out/results" and done["command"] is None
    assert {"versions", "python", "platform", "machine"} <= done.keys()
    running = Destination(target=target, base=tmp_path, clock=clock).provenance(finished=False)
    assert running["finished"] == running["started"] and running["run_time_s"] == 0.0
    assert running["seeds"] == {}
