"""Write the synthetic stand-ins that the example configs read (into examples/data/).

The tutorials these examples reproduce download public datasets; these stand-ins have the same
shape (subjects, conditions, file naming) with activations of known location, seeded.

Usage::

    python examples/make_data.py [FOLDER]      # default: examples/data
"""

import sys
from pathlib import Path

from glmreport.datasets import (
    write_anova,
    write_demo,
    write_first_level,
    write_study,
    write_two_conditions,
)


def main(folder: Path) -> None:
    write_demo(folder / "one_sample")
    write_two_conditions(folder / "two_conditions")
    write_anova(folder / "anova")
    write_first_level(folder / "first_level")
    # a BIDS dataset with fMRIPrep derivatives: 6 subjects x 2 runs of 80 scans
    write_study(folder / "study", n_subjects=6, n_runs=2, n_scans=80)
    print(f"example data written to {folder}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "data")
