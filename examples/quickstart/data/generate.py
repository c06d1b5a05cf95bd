"""Write the quickstart's synthetic churn data set: smdsl-example-data/churn/raw/churn.csv.

This folder is the local mirror of S3 for ``smdsl run pipeline.py --local``: a file at
``data/<bucket>/<key>`` stands for ``s3://<bucket>/<key>``, so the CSV written here is what the
pipeline's default InputData, ``s3://smdsl-example-data/churn/raw/``, holds.

The data are made up (numpy's default_rng(7), so every run writes the same bytes): telecom
customers, one a row, with a header and a 0/1 ``churn`` column that depends on the international
plan, day minutes, customer-service calls and the voice-mail plan, so that a model can learn it
(the quickstart's XGBoost reaches a validation AUC of about 0.8) without learning it perfectly.

    python generate.py [--out DIR]     # DIR defaults to this folder
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

ROWS = 1000
STATES = ["CA", "NY", "TX", "FL", "WA", "OH", "NJ", "MN"]
TARGET = Path("smdsl-example-data") / "churn" / "raw" / "churn.csv"


def churn_frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    state = rng.choice(STATES, size=ROWS)
    account_length = rng.integers(1, 240, size=ROWS)
    international = rng.random(ROWS) < 0.1
    voice_mail = rng.random(ROWS) < 0.27
    day = np.clip(rng.normal(180, 54, ROWS), 0, 350).round(1)
    eve = np.clip(rng.normal(200, 50, ROWS), 0, 360).round(1)
    night = np.clip(rng.normal(200, 50, ROWS), 20, 390).round(1)
    calls = rng.poisson(1.6, ROWS)
    logit = (
        -2.6
        + 2.0 * international
        - 1.0 * voice_mail
        + 0.022 * (day - 180)
        + 0.006 * (eve - 200)
        + 0.9 * (calls >= 4)
        + 0.15 * calls
    )
    churn = (rng.random(ROWS) < 1 / (1 + np.exp(-logit))).astype(int)
    yes_no = np.array(["no", "yes"])
    return pd.DataFrame(
        {
            "state": state,
            "account_length": account_length,
            "international_plan": yes_no[international.astype(int)],
            "voice_mail_plan": yes_no[voice_mail.astype(int)],
            "day_minutes": day,
            "eve_minutes": eve,
            "night_minutes": night,
            "customer_service_calls": calls,
            "churn": churn,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    target = parser.parse_args().out / TARGET
    target.parent.mkdir(parents=True, exist_ok=True)
    churn_frame().to_csv(target, index=False, lineterminator="\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
