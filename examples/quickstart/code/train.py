"""Train an XGBoost classifier on the train channel, report AUC on the validation channel.

Runs in the SageMaker XGBoost container in script mode: hyperparameters arrive as command-line
arguments, channels and the model folder as SM_* environment variables.
"""

import argparse
import glob
import os

import pandas as pd
import xgboost as xgb


def load(channel: str) -> xgb.DMatrix:
    folder = os.environ[f"SM_CHANNEL_{channel.upper()}"]
    frame = pd.concat(pd.read_csv(f, header=None) for f in sorted(glob.glob(f"{folder}/*.csv")))
    return xgb.DMatrix(frame.iloc[:, 1:], label=frame.iloc[:, 0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max_depth", type=int, default=5)
    parser.add_argument("--eta", type=float, default=0.2)
    parser.add_argument("--num_round", type=int, default=50)
    args = parser.parse_args()

    train, validation = load("train"), load("validation")
    params = {
        "max_depth": args.max_depth,
        "eta": args.eta,
        "objective": "binary:logistic",
        "eval_metric": "auc",
    }
    booster = xgb.train(
        params, train, num_boost_round=args.num_round, evals=[(validation, "validation")]
    )
    booster.save_model(os.path.join(os.environ.get("SM_MODEL_DIR", "."), "xgboost-model"))


if __name__ == "__main__":
    main()
