#!/usr/bin/env python3
"""Reference values for the clustered logistic fits and p-value adjustments in StatisticsTests.

Run from the repository root:  .build/nbenv/bin/python Tests/StatisticsTests/make_cluster_reference.py
It writes Tests/StatisticsTests/cluster_reference.json: generated data (several models answering
the same questions) and what statsmodels computes on it. Needs: numpy statsmodels.
"""
import json
import numpy as np, statsmodels, statsmodels.api as sm
from statsmodels.stats.multitest import multipletests

rng = np.random.default_rng(20261202)

def glm_cluster(y, cols, groups):
    X = sm.add_constant(np.column_stack(cols))
    res = sm.GLM(y, X, family=sm.families.Binomial()).fit(cov_type="cluster", cov_kwds={"groups": groups},
                                                          tol=1e-13, maxiter=200)
    return {"coef": res.params.tolist(), "se": res.bse.tolist(), "p": res.pvalues.tolist(),
            "cov": res.cov_params().tolist(), "llf": float(res.llf)}

cases = []
# 1. Four model sizes on the same 300 questions; x from Zipf counts; planted b3 = -0.3.
G = 300
v = np.minimum(rng.zipf(1.4, G), 10**7) - 1
xq = np.log10(v + 1)
sizes = np.log10([1.2e8, 1.3e9, 6.7e9, 7e10])
q = np.repeat(np.arange(G), len(sizes)); x = xq[q]; s = np.tile(sizes, G)
xc, sc = x - x.mean(), s - s.mean()
eta = -0.4 + 0.5 * xc + 0.8 * sc - 0.3 * xc * sc + rng.normal(0, 0.8, G)[q]  # question effects: clustering matters
y = (rng.random(q.size) < 1 / (1 + np.exp(-eta))).astype(float)
cases.append({"name": "four sizes, binary", "y": y.tolist(), "columns": [xc.tolist(), sc.tolist(), (xc * sc).tolist()],
              "groups": q.tolist(), "fit": glm_cluster(y, [xc, sc, xc * sc], q)})
# 2. The same with a categorical covariate (two indicators) and a numeric one.
cat = rng.integers(0, 3, G)[q]
num = rng.normal(size=q.size)
cols = [xc, sc, xc * sc, (cat == 1).astype(float), (cat == 2).astype(float), num]
cases.append({"name": "covariates", "y": y.tolist(), "columns": [c.tolist() for c in cols], "groups": q.tolist(),
              "fit": glm_cluster(y, cols, q)})
# 3. Fractional outcomes (scores in [0, 1]): the fractional logit.
yf = np.clip(1 / (1 + np.exp(-eta)) + rng.normal(0, 0.1, q.size), 0, 1)
cases.append({"name": "fractional", "y": yf.tolist(), "columns": [xc.tolist(), sc.tolist(), (xc * sc).tolist()],
              "groups": q.tolist(), "fit": glm_cluster(yf, [xc, sc, xc * sc], q)})
# 4. Unbalanced: a fifth of the rows missing, clusters of unequal size; groups not in order.
keep = rng.random(q.size) > 0.2
perm = rng.permutation(np.flatnonzero(keep))
cols = [xc[perm], sc[perm], (xc * sc)[perm]]
cases.append({"name": "unbalanced", "y": y[perm].tolist(), "columns": [c.tolist() for c in cols],
              "groups": (q[perm] * 7 + 3).tolist(), "fit": glm_cluster(y[perm], cols, q[perm] * 7 + 3)})
# 5. Two arms and an interaction (x, d, x d): the paired comparison's model.
d = (np.tile(np.arange(2), G)).astype(float); qq = np.repeat(np.arange(G), 2); x2 = xq[qq]
eta2 = -0.2 + 0.4 * x2 + 0.3 * d - 0.15 * x2 * d + rng.normal(0, 1.0, G)[qq]
y2 = (rng.random(qq.size) < 1 / (1 + np.exp(-eta2))).astype(float)
cases.append({"name": "two arms", "y": y2.tolist(), "columns": [x2.tolist(), d.tolist(), (x2 * d).tolist()],
              "groups": qq.tolist(), "fit": glm_cluster(y2, [x2, d, x2 * d], qq)})

p = rng.random(12) ** 3
adjust = {"p": p.tolist(),
          "holm": multipletests(p, method="holm")[1].tolist(),
          "bh": multipletests(p, method="fdr_bh")[1].tolist()}

json.dump({"versions": {"numpy": np.__version__, "statsmodels": statsmodels.__version__},
           "cases": cases, "adjust": adjust},
          open("Tests/StatisticsTests/cluster_reference.json", "w"))
print("wrote Tests/StatisticsTests/cluster_reference.json")
