"""The small volumes of a run: refused, naming the entry, before anything is written."""

from __future__ import annotations

from fixtures.tiny_study import config_text, write_tiny_study

from glmreport.cli import main
from glmreport.config.load import parse_config
from glmreport.pipeline.regions import small_volumes
from glmreport.pipeline.second_level import prepare_second_level


def test_every_svc_entry_gets_its_region(tmp_path):
    write_tiny_study(tmp_path)
    corrections = (
        "[{method: rft, fwhm_mm: 4, svc: {sphere: {center_mm: [0, 0, 0], radius_mm: 4}}},"
        " {method: uncorrected}]"
    )
    config = parse_config(config_text(corrections=corrections), base_dir=tmp_path)
    prepared = prepare_second_level(config, fit=False)
    regions = small_volumes(config, prepared.masker)
    assert list(regions) == ["rft"] and list(prepared.regions) == ["rft"]
    assert (prepared.regions["rft"] == regions["rft"]).all()
    assert regions["rft"].shape == (prepared.masker.n_voxels,) and 0 < regions["rft"].sum()


def test_a_region_outside_the_mask_exits_2_before_the_fit(tmp_path, capsys):
    write_tiny_study(tmp_path)
    corrections = (
        "[{method: rft, fwhm_mm: 4, svc: {sphere: {center_mm: [400, 0, 0], radius_mm: 4}}}]"
    )
    (tmp_path / "analysis.yaml").write_text(config_text(corrections=corrections))
    out = tmp_path / "results"
    for command in ("validate", "run"):
        args = [command, str(tmp_path / "analysis.yaml")]
        if command == "run":
            args += ["--out", str(out)]
        assert main(args) == 2
        err = capsys.readouterr().err.strip().splitlines()
        errors = [line for line in err if "error" in line]
        assert len(errors) == 1 and "corrections[0].svc" in errors[0], err
        assert not any("fitting" in line for line in err), err  # refused before the fit
    assert not out.exists()
