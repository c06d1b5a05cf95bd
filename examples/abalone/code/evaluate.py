"""Evaluate the trained model on the test split; write evaluation.json (AWS's abalone example).

The built-in XGBoost algorithm (1.3-1 and later) saves its model in XGBoost's own format, so it
is loaded with xgboost.Booster().load_model, not pickle.
"""

import json
import os
import tarfile

import numpy as np
import pandas as pd
import xgboost

BASE = "/opt/ml/processing"


def main() -> None:
    with tarfile.open(f"{BASE}/model/model.tar.gz") as tar:
        tar.extractall(path=".")
    model = xgboost.Booster()
    model.load_model("xgboost-model")
    test = pd.read_csv(f"{BASE}/test/test.csv", header=None)
    y_test = test.iloc[:, 0].to_numpy()
    predictions = model.predict(xgboost.DMatrix(test.iloc[:, 1:].values))
    mse = float(np.mean((y_test - predictions) ** 2))
    report = {
        "regression_metrics": {
            "mse": {"value": mse, "standard_deviation": float(np.std(y_test - predictions))}
        }
    }
    os.makedirs(f"{BASE}/evaluation", exist_ok=True)
    with open(f"{BASE}/evaluation/evaluation.json", "w") as out:
        json.dump(report, out)


if __name__ == "__main__":
    main()
