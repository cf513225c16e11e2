"""Write the synthetic stand-ins that the example configs read (into examples/data/).

The tutorials these examples reproduce download public datasets; these stand-ins have the same
shape (subjects, conditions, file naming) with activations of known location, seeded, strong
enough that each example finds them (tests/test_examples.py checks where):

- one_sample: left motor (-38, -22, 56) mm, SMA, right cerebellum; posterior cingulate down;
- two_conditions: vertical > horizontal checkerboard in both occipital poles (+-10, -88, 4) mm,
  1.6 at the peaks against noise SD 0.5 per map and 0.6 per subject;
- anova: fusiform faces (+-40, -52, -18) mm, famous faces in the left temporal pole;
- first_level: temporal (-56, -20, 4) mm for every sentence, frontal (44, 24, 20) mm for
  different speakers.

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
