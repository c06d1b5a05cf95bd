"""Split the raw churn CSV into train, validation and test sets.

Runs in the SageMaker scikit-learn container. Reads every CSV under the "raw" input, moves the
label column ("churn") first and drops the header, as the XGBoost container expects.
"""

import argparse
import glob
import os

import pandas as pd
from sklearn.model_selection import train_test_split

BASE = "/opt/ml/processing"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train-ratio", type=float, default=0.8)
    args = parser.parse_args()

    files = sorted(glob.glob(os.path.join(BASE, "input", "raw", "*.csv")))
    frame = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    label = frame.pop("churn").astype(int)
    features = pd.get_dummies(frame, dtype=float)
    data = pd.concat([label, features], axis=1)

    train, rest = train_test_split(data, train_size=args.train_ratio, random_state=42)
    validation, test = train_test_split(rest, test_size=0.5, random_state=42)
    for name, split in (("train", train), ("validation", validation), ("test", test)):
        folder = os.path.join(BASE, "output", name)
        os.makedirs(folder, exist_ok=True)
        split.to_csv(os.path.join(folder, f"{name}.csv"), header=False, index=False)


if __name__ == "__main__":
    main()
