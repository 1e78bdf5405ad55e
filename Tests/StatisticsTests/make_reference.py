#!/usr/bin/env python3
"""Reference values for StatisticsTests, computed with scipy, statsmodels, pandas and numpy.

Run from the repository root:  python3 Tests/StatisticsTests/make_reference.py
It writes Tests/StatisticsTests/reference.json (the generated data and the expected values).
Versions used are recorded in the file. Needs: numpy scipy statsmodels pandas.
"""
import json, sys
import numpy as np, scipy, scipy.stats as st, pandas as pd, statsmodels
import statsmodels.api as sm
from statsmodels.stats.proportion import proportion_confint

rng = np.random.default_rng(20221101)

def zipf_counts(n, a=1.3, scale=1.0):
    return np.minimum(rng.zipf(a, n) * scale, 10**9).astype(float) - 1

def case(name, x, y, bins=(10, 5), gap_q=0.1):
    x = np.asarray(x, float); y = np.asarray(y, float)
    out = {"name": name, "x": x.tolist(), "y": y.tolist()}
    r, p = st.pearsonr(x, y); out["pearson"] = [float(r), float(p)]
    r, p = st.spearmanr(x, y); out["spearman"] = [float(r), float(p)]
    r, p = st.kendalltau(x, y, method="asymptotic"); out["kendall"] = [float(r), float(p)]
    X = sm.add_constant(x)
    if set(np.unique(y)) <= {0.0, 1.0}:
        res = sm.Logit(y, X).fit(disp=0, method="newton", tol=1e-12, maxiter=200)
    else:
        res = sm.GLM(y, X, family=sm.families.Binomial()).fit(tol=1e-12, maxiter=200)
    out["logit"] = {"coef": res.params.tolist(), "se": res.bse.tolist(), "p": res.pvalues.tolist(),
                    "llf": float(res.llf)}
    binned = {}
    for b in bins:
        cat = pd.qcut(x, b, duplicates="drop")
        rows = []
        for interval, grp in pd.Series(y).groupby(cat, observed=True):
            k = float(grp.sum()); n = int(grp.size)
            lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
            rows.append([n, k / n, float(lo), float(hi)])
        binned[str(b)] = rows
    out["qbins"] = binned
    qs = [0.0, 0.1, 0.25, 0.5, 0.9, 1.0]
    out["quantiles"] = [[q, float(np.quantile(x, q))] for q in qs]
    lo, hi = np.quantile(x, gap_q), np.quantile(x, 1 - gap_q)
    top, bot = y[x >= hi], y[x <= lo]
    out["gap"] = [gap_q, float(top.mean() - bot.mean()), int(top.size), int(bot.size)]
    def gapstat(xs, ys):
        lo, hi = np.quantile(xs, gap_q), np.quantile(xs, 1 - gap_q)
        return ys[xs >= hi].mean() - ys[xs <= lo].mean()
    b = st.bootstrap((x, y), gapstat, paired=True, vectorized=False, n_resamples=2000,
                     method="percentile", random_state=np.random.default_rng(1))
    out["gap_bootstrap_scipy"] = [float(b.confidence_interval.low), float(b.confidence_interval.high)]
    b = st.bootstrap((x, y), lambda a, c: st.spearmanr(a, c)[0], paired=True, vectorized=False,
                     n_resamples=2000, method="percentile", random_state=np.random.default_rng(2))
    out["spearman_bootstrap_scipy"] = [float(b.confidence_interval.low), float(b.confidence_interval.high)]
    return out

cases = []
# 1. Binary correctness against log10(count+1) of Zipf-distributed counts: many ties in x.
c = zipf_counts(600)
lx = np.log10(c + 1)
prob = 1 / (1 + np.exp(-(-1.0 + 0.6 * lx)))
cases.append(case("zipf-binary", lx, (rng.random(600) < prob).astype(float)))
# 2. Scores in [0, 1] (a fractional response).
c = zipf_counts(300, a=1.6, scale=3)
lx = np.log10(c + 1)
cases.append(case("zipf-scores", lx, np.clip(0.2 + 0.15 * lx + rng.normal(0, 0.2, 300), 0, 1)))
# 3. Small, heavy ties on both sides.
cases.append(case("small-ties", [0, 0, 1, 1, 1, 2, 3, 3, 5, 8, 8, 13], [0, 1, 0, 0, 1, 1, 0, 1, 1, 1, 0, 1],
                  bins=(4, 3), gap_q=0.25))
# 4. Continuous, no ties.
xs = rng.normal(0, 1, 80)
ys = (rng.random(80) < 1 / (1 + np.exp(-1.5 * xs))).astype(float)
cases.append(case("continuous", xs, ys))

# Distribution functions.
dist = {
    "t_two_sided": [[t, df, float(2 * st.t.sf(abs(t), df))] for t in (0.1, 1.0, 2.5, 7.0, 30.0) for df in (1, 5, 30.5, 1000)],
    "normal_two_sided": [[z, float(2 * st.norm.sf(abs(z)))] for z in (0.0, 0.5, 1.96, 4.0, 9.0)],
    "betainc": [[a, b, xx, float(scipy.special.betainc(a, b, xx))] for a in (0.5, 2.0, 40.0) for b in (0.5, 3.0) for xx in (0.01, 0.3, 0.7, 0.99)],
}
# Zipf exponent by maximum likelihood over ranks 1..R: scipy's zipfian(a, R) log-pmf, maximized
# numerically; the standard error from the numerical second derivative of the log-likelihood.
import scipy.optimize as so
zrng = np.random.default_rng(7)
zipf_cases = []
for name, R, a_true, n in (("zipf-1.1", 3000, 1.1, 200000), ("zipf-0.8", 500, 0.8, 20000), ("zipf-1.6", 20000, 1.6, 500000)):
    p = np.arange(1, R + 1, dtype=float) ** -a_true
    c = np.bincount(zrng.choice(R, size=n, p=p / p.sum()), minlength=R)
    c = np.sort(c)[::-1]
    c = c[c > 0]
    ranks = np.arange(1, len(c) + 1)
    ll = lambda a: float(np.sum(c * st.zipfian.logpmf(ranks, a, len(c))))
    res = so.minimize_scalar(lambda a: -ll(a), bounds=(0.05, 5), method="bounded", options={"xatol": 1e-12})
    h = 1e-4
    d2 = (ll(res.x + h) - 2 * ll(res.x) + ll(res.x - h)) / h ** 2
    zipf_cases.append({"name": name, "counts": c.tolist(), "exponent": float(res.x), "se": float(1 / np.sqrt(-d2)),
                       "llf": ll(res.x)})
dist["zipf_mle"] = zipf_cases

def clean(v):
    if isinstance(v, float) and v != v:
        return None
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items()}
    if isinstance(v, list):
        return [clean(x) for x in v]
    return v

json.dump(clean({"versions": {"python": sys.version.split()[0], "numpy": np.__version__, "scipy": scipy.__version__,
                        "statsmodels": statsmodels.__version__, "pandas": pd.__version__},
           "cases": cases, "distributions": dist}),
          open("Tests/StatisticsTests/reference.json", "w"), indent=0)
print("wrote Tests/StatisticsTests/reference.json")
