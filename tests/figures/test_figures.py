"""The figures package: the names the report uses, and no statistics anywhere in it."""

from __future__ import annotations

import ast
from pathlib import Path

import glmreport.figures as figures

FIGURES_PY = sorted(Path(figures.__file__).parent.glob("*.py"))  # the whole package
REPORT_BUILD = Path(figures.__file__).parents[1] / "report"


def test_the_package_exports_every_name_the_report_uses():
    used = set()  # figures.X, and names imported from the package
    for path in REPORT_BUILD.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "figures"
            ):
                used.add(node.attr)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").endswith("figures"):
                used.update(alias.name for alias in node.names if alias.name != "*")
    assert used, "the report draws its figures through the figures package"
    missing = sorted(name for name in used if not hasattr(figures, name))
    assert not missing, missing
    assert set(figures.__all__) >= used


def test_figures_modules_import_no_statistics():
    statistics = ("scipy.stats", "glmreport.glm", "glmreport.inference", "..glm", "..inference")
    assert len(FIGURES_PY) >= 8
    for path in FIGURES_PY:
        tree = ast.parse(path.read_text())
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                imported.add(("." * node.level) + (node.module or ""))
        assert not any(name.startswith(statistics) for name in imported), path.name
        assert "matplotlib.pyplot" not in imported  # no global figure registry to leak figures
        assert not any(name.startswith("nilearn") for name in imported)
        source = path.read_text()
        for forbidden in ("ndtri", ".sf(", "isf(", "fdr", "bonferroni"):
            assert forbidden not in source, f"{path.name}: {forbidden}"
