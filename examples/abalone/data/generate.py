"""Write the abalone example's synthetic data: the data set and the batch-transform input.

This folder is the local mirror of S3 for ``smdsl run pipeline.py --local``: a file at
``data/<bucket>/<key>`` stands for ``s3://<bucket>/<key>``. Two files are written, the defaults
of the pipeline's parameters:

- ``smdsl-example-data/abalone/abalone-dataset.csv`` (InputData): the UCI abalone layout without
  a header, ``sex,length,diameter,height,whole_weight,shucked_weight,viscera_weight,
  shell_weight,rings``. The rows are made up (numpy's default_rng(2024): every run writes the
  same bytes) but realistic: sex M/F/I, rings 1..29 (mean about 10, infants younger), sizes that
  grow with age and level off, weights that grow with size, the shell's share of the weight
  growing with age. The pipeline's XGBoost reaches a test MSE of about 4, under its threshold 6.
- ``smdsl-example-data/abalone/abalone-dataset-batch`` (BatchData, no extension): more made-up
  abalone, without the label, in the form the trained model reads. That is what
  ``code/preprocess.py`` produces, minus the rings column: the seven measurements standardized,
  then the one-hot sex columns F, I, M, by the same scikit-learn transformation fitted on the
  data set above.

    python generate.py [--out DIR]     # DIR defaults to this folder
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

ROWS, BATCH_ROWS = 1500, 200
FOLDER = Path("smdsl-example-data") / "abalone"
COLUMNS = [
    "sex",
    "length",
    "diameter",
    "height",
    "whole_weight",
    "shucked_weight",
    "viscera_weight",
    "shell_weight",
    "rings",
]
# per sex: share of the rows, mean and standard deviation of the rings (as in the UCI data)
SEXES = {"M": (0.37, 10.7, 3.0), "F": (0.31, 11.1, 3.1), "I": (0.32, 7.9, 2.5)}


def abalone(rng: np.random.Generator, rows: int) -> pd.DataFrame:
    """Made-up abalone in the UCI layout, label (rings) last."""
    shares = [share for share, _, _ in SEXES.values()]
    sex = rng.choice(list(SEXES), size=rows, p=shares)
    mean = np.array([SEXES[s][1] for s in sex])
    var = np.array([SEXES[s][2] for s in sex]) ** 2
    rings = np.clip(np.rint(rng.gamma(mean**2 / var, var / mean)), 1, 29).astype(int)

    def noise(sd: float) -> np.ndarray:
        return np.exp(rng.normal(0.0, sd, rows))

    grown = 1 - np.exp(-0.2 * rings)
    length = np.clip(0.66 * grown * np.where(sex == "I", 0.93, 1.0) * noise(0.12), 0.075, 0.815)
    diameter = np.clip(0.785 * length * noise(0.03), 0.055, 0.65)
    height = np.clip(0.34 * diameter * noise(0.08), 0.01, 0.25)
    whole = np.clip(5.1 * length**3 * noise(0.12), 0.002, 2.8)
    shell_share = np.clip(0.26 + 0.006 * (rings - 10), 0.15, 0.45) * noise(0.12)
    shucked = whole * np.clip(0.47 - 0.007 * (rings - 10), 0.3, 0.6) * noise(0.08)
    viscera = whole * 0.22 * noise(0.1)
    return pd.DataFrame(
        {
            "sex": sex,
            "length": length.round(3),
            "diameter": diameter.round(3),
            "height": height.round(3),
            "whole_weight": whole.round(4),
            "shucked_weight": shucked.round(4),
            "viscera_weight": viscera.round(4),
            "shell_weight": (whole * shell_share).round(4),
            "rings": rings,
        },
        columns=COLUMNS,
    )


def model_input(dataset: pd.DataFrame, batch: pd.DataFrame) -> pd.DataFrame:
    """The batch's features as code/preprocess.py transforms them, fitted on the data set."""
    numeric = COLUMNS[1:-1]
    transform = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
                ),
                ["sex"],
            ),
        ]
    )
    transform.fit(dataset.drop(columns="rings"))
    return pd.DataFrame(transform.transform(batch.drop(columns="rings")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    folder = parser.parse_args().out / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2024)
    dataset, batch = abalone(rng, ROWS), abalone(rng, BATCH_ROWS)
    dataset.to_csv(folder / "abalone-dataset.csv", header=False, index=False, lineterminator="\n")
    model_input(dataset, batch).to_csv(
        folder / "abalone-dataset-batch", header=False, index=False, lineterminator="\n"
    )
    print(f"wrote {folder / 'abalone-dataset.csv'} and {folder / 'abalone-dataset-batch'}")


if __name__ == "__main__":
    main()
