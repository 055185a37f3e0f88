"""Reference values for igbert's probe tests (test/probe-sklearn.test.ts), from scikit-learn and scipy.

Writes test/fixtures/probe/sklearn.json: seeded synthetic "embedding-like" features (correlated columns with
different offsets and scales), targets, a fixed outer fold assignment, and what scikit-learn computes for

  regression      GridSearchCV(Pipeline([StandardScaler(), Ridge(alpha)]), {alpha: logspace(-3, 3, 13)},
                               cv=KFold(5), scoring="r2", refit=True)
  classification  GridSearchCV(Pipeline([StandardScaler(), LogisticRegression(C)]), {C: logspace(-3, 3, 13)},
                               cv=StratifiedKFold(5), scoring="roc_auc", refit=True)

on each outer fold's training rows (ascending row order) and on all rows: the inner mean scores, the chosen
penalty, the scaler, coefficients, intercept, held-out decision values and metrics (r2_score, spearmanr,
root mean squared error; roc_auc_score on decision_function, accuracy_score), and the mean ± sd (ddof 0) over folds.
Each case is checked to have no near tie for the best inner score (exact ties, frequent with ROC AUC, are fine:
the first penalty in grid order wins on both sides); a near tie would make the choice depend on rounding.

Logistic regression uses solver="newton-cholesky" (tol 1e-12), which converges to the optimum of the same
objective as lbfgs; the script checks that lbfgs (tol 1e-12) agrees with it on every final fit.

Also writes test/fixtures/probe/antibodies.csv, a small labelled table of short antibody fragments (short enough for
the tiny test checkpoints) with the label problems the probes must report: missing and non-numeric values, a
constant column, a two-label column, the same antibody listed twice with different labels, and a bad sequence.

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install numpy scipy scikit-learn
    /tmp/ref/bin/python scripts/reference/probe.py
"""
import json
import os

import numpy as np
import scipy
import sklearn
from scipy.stats import spearmanr
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, mean_squared_error, r2_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "test", "fixtures", "probe", "sklearn.json")
GRID = np.logspace(-3, 3, 13)
OUTER, INNER = 5, 5


def features(rng, n, d):
    """Columns driven by a few shared latent factors (like embedding dimensions), then offset and rescaled."""
    latent = rng.normal(size=(n, 4))
    x = latent @ rng.normal(size=(4, d)) + 0.7 * rng.normal(size=(n, d))
    return x * rng.uniform(0.2, 3.0, size=d) + rng.normal(0.0, 4.0, size=d)


def estimator(task, penalty):
    if task == "regression":
        return Pipeline([("scaler", StandardScaler()), ("model", Ridge(alpha=penalty))])
    return Pipeline([
        ("scaler", StandardScaler()),
        ("model", LogisticRegression(C=penalty, solver="newton-cholesky", tol=1e-12, max_iter=1000)),
    ])


def search(task, x, y):
    cv = KFold(INNER) if task == "regression" else StratifiedKFold(INNER)
    gs = GridSearchCV(
        estimator(task, 1.0), {"model__" + ("alpha" if task == "regression" else "C"): list(GRID)},
        cv=cv, scoring="r2" if task == "regression" else "roc_auc", refit=True,
    )
    gs.fit(x, y)
    scores = gs.cv_results_["mean_test_score"]
    # igbert treats scores within 1e-12 of the best as tied (first in grid order wins, as here); a runner-up
    # between 1e-12 and 1e-6 below the best would make the choice depend on rounding, so refuse such data.
    top = scores.max()
    tied = np.flatnonzero(scores >= top - 1e-12 * max(1.0, abs(top)))
    close = np.flatnonzero((scores < top - 1e-12 * max(1.0, abs(top))) & (scores > top - 1e-6 * max(1.0, abs(top))))
    assert tied[0] == gs.best_index_ and close.size == 0, f"near tie in inner scores {scores}; pick another seed"
    best = gs.best_estimator_
    return gs, best, scores


def decision(task, model, x):
    return model.predict(x) if task == "regression" else model.decision_function(x)


def metrics(task, truth, d):
    if task == "regression":
        return {
            "r2": float(r2_score(truth, d)),
            "spearman": float(spearmanr(truth, d).statistic),
            "rmse": float(np.sqrt(mean_squared_error(truth, d))),
        }
    return {"roc_auc": float(roc_auc_score(truth, d)), "accuracy": float(accuracy_score(truth, (d > 0).astype(int)))}


def fitted(task, gs, best, scores):
    scaler, model = best.named_steps["scaler"], best.named_steps["model"]
    return {
        "penalty": float(GRID[gs.best_index_]),
        "innerScores": [float(s) for s in scores],
        "scalerMean": scaler.mean_.tolist(),
        "scalerScale": scaler.scale_.tolist(),
        "coef": np.ravel(model.coef_).tolist(),
        "intercept": float(np.ravel(model.intercept_)[0]) if task == "classification" else float(model.intercept_),
    }


def check_lbfgs(x, y, penalty, reference):
    lbfgs = Pipeline([
        ("scaler", StandardScaler()),
        ("model", LogisticRegression(C=penalty, solver="lbfgs", tol=1e-12, max_iter=100000)),
    ]).fit(x, y)
    coef = np.ravel(lbfgs.named_steps["model"].coef_)
    rel = np.max(np.abs(coef - reference)) / np.max(np.abs(reference))
    assert rel < 1e-5, f"lbfgs and newton-cholesky disagree ({rel}) at C={penalty}"
    return float(rel)


def case(name, task, n, d, seed):
    rng = np.random.default_rng(seed)
    x = features(rng, n, d)
    xs = (x - x.mean(0)) / x.std(0)
    beta = rng.normal(size=d) * (rng.uniform(size=d) < 0.5)
    signal = xs @ beta
    if task == "regression":
        y = signal + rng.normal(scale=signal.std() * 0.8, size=n)
        assignment = np.empty(n, dtype=int)
        assignment[rng.permutation(n)] = np.arange(n) % OUTER
    else:
        y = (signal + rng.normal(scale=signal.std() * 1.0, size=n) > 0).astype(int)
        assignment = np.empty(n, dtype=int)
        for split, (_, test) in enumerate(StratifiedKFold(OUTER, shuffle=True, random_state=seed).split(x, y)):
            assignment[test] = split
    folds = []
    for fold in range(OUTER):
        train = np.flatnonzero(assignment != fold)
        test = np.flatnonzero(assignment == fold)
        gs, best, scores = search(task, x[train], y[train])
        d_test = decision(task, best, x[test])
        folds.append({**fitted(task, gs, best, scores), "test": test.tolist(), "decisions": d_test.tolist(),
                      "metrics": metrics(task, y[test], d_test)})
    names = list(folds[0]["metrics"])
    summary = {m: {"mean": float(np.mean([f["metrics"][m] for f in folds])),
                   "sd": float(np.std([f["metrics"][m] for f in folds]))} for m in names}
    gs, best, scores = search(task, x, y)
    final = fitted(task, gs, best, scores)
    if task == "classification":
        final["lbfgsRelativeDifference"] = check_lbfgs(x, y, final["penalty"], np.array(final["coef"]))
    return {"name": name, "task": task, "n": n, "d": d, "x": x.ravel().tolist(), "y": [float(v) for v in y],
            "assignment": assignment.tolist(), "folds": folds, "summary": summary, "final": final}


def write_antibody_table():
    rng = np.random.default_rng(7)
    heavy0 = "EVQLVESGGGLVQPGGSLRLSCAASGFNIKDTYIHWVRQ"
    light0 = "DIQMTQSPSSLSASVGDRVTITCRASQDVNTAVAWYQQ"
    residues = "ACDEFGHIKLMNPQRSTVWY"

    def mutate(seq, k):
        seq = list(seq)
        for pos in rng.choice(len(seq), size=k, replace=False):
            seq[pos] = residues[rng.integers(len(residues))]
        return "".join(seq)

    rows = []
    for i in range(46):
        heavy, light = mutate(heavy0, 4), mutate(light0, 1)
        affinity = 0.4 * sum(c in "FWYLIV" for c in heavy) + rng.normal(scale=0.5)
        messy = ["", "NA", "n.d."][i % 3] if i % 7 == 3 else f"{affinity * 2:.3f}"
        rows.append([f"ab{i + 1:02d}", heavy, light, f"{affinity:.4f}", f"{10 ** (3 - affinity):.4g}", "", "7", messy])
    median = np.median([float(r[3]) for r in rows])
    for r in rows:
        r[5] = "binder" if float(r[3]) > median else "non-binder"
    first = rows[0]
    rows.append(["ab01-repeat", first[1], first[2], f"{float(first[3]) + 1:.4f}", first[4], first[5], "7", first[7]])
    rows.append(["bad-seq", "EVQL1VESGG", light0, "1.0", "10", "binder", "7", "2.0"])
    path = os.path.join(os.path.dirname(OUT), "antibodies.csv")
    with open(path, "w") as f:
        f.write("id,heavy,light,affinity,kd_nm,class,flat,messy\n")
        for r in rows:
            f.write(",".join(r) + "\n")
    print(f"wrote {path}")


def main():
    write_antibody_table()
    cases = [
        case("ridge, fewer features than rows (primal)", "regression", 60, 8, 11),
        case("ridge, more features than rows (kernel)", "regression", 45, 60, 12),
        case("logistic, fewer features than rows", "classification", 80, 6, 13),
        case("logistic, more features than rows (row space)", "classification", 50, 40, 14),
    ]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({
            "generator": "scripts/reference/probe.py",
            "versions": {"numpy": np.__version__, "scipy": scipy.__version__, "scikit-learn": sklearn.__version__},
            "grid": GRID.tolist(), "outerFolds": OUTER, "innerFolds": INNER, "cases": cases,
        }, f)
    print(f"wrote {OUT}")
    for c in cases:
        print(c["name"], "final penalty", c["final"]["penalty"], {m: round(v["mean"], 4) for m, v in c["summary"].items()})


if __name__ == "__main__":
    main()
