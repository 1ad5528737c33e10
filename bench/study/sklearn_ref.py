#!/usr/bin/python3
# scikit-learn references for `npm run study:tabular` (bench/study-tabular.ts), run with Debian's /usr/bin/python3
# (python3-sklearn, numpy). Reads the files bench/study/tabular-export.ts writes (table.json, split-<seed>.json; their
# layout is documented there) and trains on each split's training rows only, scoring on its validation rows.
#
#   /usr/bin/python3 bench/study/sklearn_ref.py TABLE.json SPLIT.json [SPLIT.json ...] --models a,b --out OUT.json
#   /usr/bin/python3 bench/study/sklearn_ref.py TABLE.json SPLIT.json --rows      # print what it reads, train nothing
#
# Models (one per task; binary tasks scored by ROC AUC, regression by RMSE over the validation rows):
#   logreg  LogisticRegression (L2, C = 1, lbfgs until converged): one-hot categoricals (unknown → all zeros),
#           standardized numerics (missing → training mean), both fitted on the training rows.
#   ridge   Ridge on standardized numerics + one-hot of the group column (School: the school); alpha from a grid
#           chosen by RMSE on the split's inner split (training rows only), then refitted on all training rows.
#   hgb     HistGradientBoosting{Classifier,Regressor} with default settings (random_state = seed); categoricals
#           and the group column as native categorical features, coded by their sorted training values (a value
#           unseen in training → missing). Its default early stopping (on above 10,000 rows) holds out 10 % of the
#           training rows.
# OUT.json: { runs: [{ seed, model, task, metric, value, seconds, info }] }; seconds = fit + predict of that task.
import hashlib
import json
import sys
import time
import warnings

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import mean_squared_error, roc_auc_score
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from scipy import sparse

RIDGE_ALPHAS = np.logspace(-3, 4, 29)


def fail(msg):
    sys.stderr.write(f"sklearn_ref.py: {msg}\n")
    sys.exit(2)


def load_table(path):
    with open(path) as f:
        t = json.load(f)
    n = t["rows"]
    num_names = list(t["numeric"])
    num = np.array([[np.nan if v is None else v for v in t["numeric"][c]] for c in num_names], dtype=np.float64).T.reshape(n, len(num_names))
    cat_names = list(t["categorical"])
    cat = np.array([t["categorical"][c] for c in cat_names], dtype=object).T.reshape(n, len(cat_names))
    group = None if t["group"] is None else np.array(t["group"]["values"], dtype=object).reshape(n, 1)
    targets = {k: np.array([np.nan if v is None else v for v in vals], dtype=np.float64) for k, vals in t["targets"].items()}
    for name, a in [("row_ids", t["row_ids"])] + [(f"targets.{k}", v) for k, v in targets.items()]:
        if len(a) != n:
            fail(f"{path}: {name} has {len(a)} entries, expected rows = {n}")
    return dict(n=n, row_ids=np.array(t["row_ids"], dtype=np.int64), num=num, num_names=num_names, cat=cat, cat_names=cat_names, group=group, tasks=t["tasks"], targets=targets)


def load_split(path, n):
    with open(path) as f:
        s = json.load(f)
    out = {"seed": s["seed"], "path": path, "validation_sha256": s["validation_sha256"]}
    for side in ("train", "validation"):
        idx = np.array(s[side], dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            fail(f"{path}: {side} holds an index outside 0..{n - 1}")
        out[side] = idx
    if np.intersect1d(out["train"], out["validation"]).size:
        fail(f"{path}: train and validation share rows")
    out["inner"] = None if s["inner"] is None else {k: np.array(v, dtype=np.int64) for k, v in s["inner"].items()}
    return out


def id_hash(row_ids):
    """The SHA-256 of the data-row numbers, one per line (as rowIdHash in tabular-export.ts)."""
    return hashlib.sha256("".join(f"{int(r)}\n" for r in row_ids).encode()).hexdigest()


def codes(train_col, col):
    """Integer codes of `col` by the sorted distinct values of `train_col`; unseen values → NaN."""
    levels = sorted(set(train_col.tolist()))
    if len(levels) > 255:
        fail(f"a categorical column has {len(levels)} values in training; HistGradientBoosting takes at most 255")
    m = {v: float(i) for i, v in enumerate(levels)}
    return np.array([m.get(v, np.nan) for v in col.tolist()], dtype=np.float64)


def hgb_features(T, tr, idx):
    cols, is_cat = [T["num"][idx]], [False] * T["num"].shape[1]
    extra = [T["cat"]] + ([T["group"]] if T["group"] is not None else [])
    for block in extra:
        for j in range(block.shape[1]):
            cols.append(codes(block[tr, j], block[idx, j]).reshape(-1, 1))
            is_cat.append(True)
    return np.hstack(cols), np.array(is_cat)


def linear_features(T, tr):
    """A function rows → design matrix, fitted on rows `tr`: standardized numerics, one-hot categoricals and group."""
    num_tr = T["num"][tr]
    means = np.nanmean(num_tr, axis=0) if num_tr.size else np.zeros(T["num"].shape[1])
    fill = lambda a: np.where(np.isnan(a), means, a)
    scaler = StandardScaler().fit(fill(num_tr))
    blocks = [b for b in (T["cat"] if T["cat"].shape[1] else None, T["group"]) if b is not None]
    onehot = [OneHotEncoder(handle_unknown="ignore").fit(b[tr]) for b in blocks]

    def design(idx):
        parts = [sparse.csr_matrix(scaler.transform(fill(T["num"][idx])))] + [enc.transform(b[idx]) for enc, b in zip(onehot, blocks)]
        return sparse.hstack(parts).tocsr()

    return design


def labelled(y, idx):
    return idx[~np.isnan(y[idx])]


def run_logreg(T, S, task):
    y = T["targets"][task]
    tr, va = labelled(y, S["train"]), labelled(y, S["validation"])
    t0 = time.perf_counter()
    design = linear_features(T, tr)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        m = LogisticRegression(C=1.0, max_iter=20000, tol=1e-6).fit(design(tr), y[tr])
    p = m.predict_proba(design(va))[:, 1]
    return "auc", roc_auc_score(y[va], p), time.perf_counter() - t0, {"n_iter": int(m.n_iter_[0]), "features": int(design(tr[:1]).shape[1])}


def run_ridge(T, S, task):
    y = T["targets"][task]
    if S["inner"] is None:
        fail(f"{S['path']}: ridge needs the inner split of the training rows (inner is null)")
    itr, iva = labelled(y, S["inner"]["train"]), labelled(y, S["inner"]["validation"])
    tr, va = labelled(y, S["train"]), labelled(y, S["validation"])
    if not set(itr.tolist()) | set(iva.tolist()) <= set(tr.tolist()):
        fail(f"{S['path']}: the inner split holds rows outside the training rows")
    t0 = time.perf_counter()
    d_in = linear_features(T, itr)
    Xi, Xv = d_in(itr), d_in(iva)
    inner = [float(np.sqrt(mean_squared_error(y[iva], Ridge(alpha=a).fit(Xi, y[itr]).predict(Xv)))) for a in RIDGE_ALPHAS]
    alpha = float(RIDGE_ALPHAS[int(np.argmin(inner))])
    design = linear_features(T, tr)
    p = Ridge(alpha=alpha).fit(design(tr), y[tr]).predict(design(va))
    return "rmse", float(np.sqrt(mean_squared_error(y[va], p))), time.perf_counter() - t0, {"alpha": alpha, "inner_rmse": min(inner), "alpha_at_grid_edge": alpha in (RIDGE_ALPHAS[0], RIDGE_ALPHAS[-1])}


def run_hgb(T, S, task, kind):
    y = T["targets"][task]
    tr, va = labelled(y, S["train"]), labelled(y, S["validation"])
    t0 = time.perf_counter()
    Xtr, cat = hgb_features(T, tr, tr)
    Xva, _ = hgb_features(T, tr, va)
    if kind == "binary":
        m = HistGradientBoostingClassifier(categorical_features=cat, random_state=S["seed"]).fit(Xtr, y[tr])
        metric, value = "auc", roc_auc_score(y[va], m.predict_proba(Xva)[:, 1])
    else:
        m = HistGradientBoostingRegressor(categorical_features=cat, random_state=S["seed"]).fit(Xtr, y[tr])
        metric, value = "rmse", float(np.sqrt(mean_squared_error(y[va], m.predict(Xva))))
    return metric, float(value), time.perf_counter() - t0, {"n_iter": int(m.n_iter_), "early_stopping": bool(m.do_early_stopping_)}


def main(argv):
    args, models, out, rows_only = [], None, None, False
    it = iter(argv)
    for a in it:
        if a == "--models":
            models = next(it, "").split(",")
        elif a == "--out":
            out = next(it, None)
        elif a == "--rows":
            rows_only = True
        else:
            args.append(a)
    if len(args) < 2:
        fail("usage: sklearn_ref.py TABLE.json SPLIT.json [SPLIT.json ...] (--models logreg,ridge,hgb --out OUT.json | --rows)")
    T = load_table(args[0])
    splits = [load_split(p, T["n"]) for p in args[1:]]
    if rows_only:
        # What this script reads, for the test that checks it against the TypeScript split (test/bench).
        for S in splits:
            va = S["validation"]
            print(json.dumps({"seed": S["seed"], "train": int(S["train"].size), "validation": int(va.size), "validation_sha256": id_hash(T["row_ids"][va]),
                              "validation_target_sums": {k: float(np.nansum(v[va])) for k, v in T["targets"].items()},
                              "validation_numeric_sums": [float(x) for x in np.nansum(T["num"][va], axis=0)]}))
        return
    known = {"logreg", "ridge", "hgb"}
    if not models or not set(models) <= known:
        fail(f"--models: expected a comma-separated subset of {sorted(known)}, got {models}")
    if out is None:
        fail("--out OUT.json is required")
    runs = []
    for S in splits:
        if id_hash(T["row_ids"][S["validation"]]) != S["validation_sha256"]:
            fail(f"{S['path']}: the validation rows' hash differs from validation_sha256 (the table and the split do not belong together)")
        for task in T["tasks"]:
            for model in models:
                kind = task["type"]
                if model == "logreg" and kind != "binary" or model == "ridge" and kind != "regression":
                    continue
                if model == "logreg":
                    r = run_logreg(T, S, task["name"])
                elif model == "ridge":
                    r = run_ridge(T, S, task["name"])
                else:
                    r = run_hgb(T, S, task["name"], kind)
                metric, value, seconds, info = r
                runs.append({"seed": S["seed"], "model": model, "task": task["name"], "metric": metric, "value": float(value), "seconds": seconds, "info": info})
                sys.stderr.write(f"  {model} seed {S['seed']} {task['name']}: {metric} {value:.4f} [{seconds:.1f} s] {json.dumps(info)}\n")
    with open(out, "w") as f:
        json.dump({"runs": runs}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
