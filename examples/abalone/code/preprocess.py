"""Split the abalone data into train, validation and test sets (AWS's abalone example).

Reads the CSV from /opt/ml/processing/input and writes train/, validation/ and test/ under
/opt/ml/processing, each a headerless CSV whose first column is the target (rings).
"""

import glob
import os

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

BASE = "/opt/ml/processing"
FEATURES = [
    "sex",
    "length",
    "diameter",
    "height",
    "whole_weight",
    "shucked_weight",
    "viscera_weight",
    "shell_weight",
]
LABEL = "rings"


def main() -> None:
    files = sorted(glob.glob(f"{BASE}/input/*.csv"))
    frame = pd.concat(pd.read_csv(f, header=None, names=[*FEATURES, LABEL]) for f in files)
    numeric = FEATURES[1:]
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
    y = frame.pop(LABEL).to_numpy().reshape(-1, 1)
    x = transform.fit_transform(frame)
    data = np.concatenate((y, x), axis=1)
    np.random.default_rng(42).shuffle(data)
    first, second = int(0.7 * len(data)), int(0.85 * len(data))
    for name, part in (
        ("train", data[:first]),
        ("validation", data[first:second]),
        ("test", data[second:]),
    ):
        os.makedirs(f"{BASE}/{name}", exist_ok=True)
        pd.DataFrame(part).to_csv(f"{BASE}/{name}/{name}.csv", header=False, index=False)


if __name__ == "__main__":
    main()
