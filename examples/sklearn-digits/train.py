"""Train a classifier on scikit-learn's bundled digits data; log like an Azure ML v1 script."""

import argparse
import os
import pickle

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import train_test_split

from jupyter_amlrun import Run

parser = argparse.ArgumentParser()
parser.add_argument("--regularization", type=float, default=1.0, help="inverse regularization strength C")
parser.add_argument("--max-iter", type=int, default=200)
args = parser.parse_args()

run = Run.get_context()
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.25, random_state=0)
print(f"Train {X_train.shape}, test {X_test.shape}, C={args.regularization}")

run.log("regularization", args.regularization)
# Train in stages so the run has a learning curve to show.
clf = LogisticRegression(C=args.regularization, max_iter=10, warm_start=True)
for step in range(1, args.max_iter // 10 + 1):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X_train, y_train)
    acc = float(np.mean(clf.predict(X_test) == y_test))
    run.log("accuracy", acc)
    print(f"step {step}: accuracy {acc:.4f}")

cm = confusion_matrix(y_test, clf.predict(X_test))
run.log_table("confusion_row_totals", {"digit": list(range(10)), "count": [int(c) for c in cm.sum(axis=1)]})
os.makedirs("outputs", exist_ok=True)
with open("outputs/model.pkl", "wb") as fh:
    pickle.dump(clf, fh)
print("Saved outputs/model.pkl")
