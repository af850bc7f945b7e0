"""Probe: why do power_law's 90% intervals miss on the upside when the maximum-likelihood fit does not?

Three measurements on the power_law design (ladders.py, seeds 0..n-1):

``mle``
    The sampling distribution of the maximum-likelihood extrapolation (scipy ``curve_fit``, least
    squares on log loss, started at the truth): the share of ladders whose estimate lies below
    the true law, and the 5/25/50/75/95% quantiles of the relative error, at each target.
    Seconds for 300 ladders.
``fits``
    Default bayeslaw fits: coverage of the equal-tailed 90% interval (what bayeslaw reports)
    against the shortest (highest-density) 90% interval of the same draws, the mean PIT, and
    ``z = (log truth - posterior mean) / posterior sd`` of log L at the targets (mean of z is the
    bias in posterior sds; mean of z^2 above 1 means the bands are too narrow).
``profile``
    Profile-likelihood 90% intervals of the extrapolated log loss (Gaussian likelihood with the noise
    profiled out, so the likelihood-ratio cut is n/2 log(RSS/RSS_min) <= 1.353): coverage and
    one-sided misses. A frequentist interval with no prior and no marginalisation, on the same
    ladders as ``mle``.
``stack``
    The 90% interval of the stack of power_law and m3 (``bayeslaw.stack``, LOO stacking weights),
    the law averaging that the law-recovery study suggests for short one-variable ladders.

Usage::

    python case_studies/calibration/probe_skew.py mle --noise normal --ladders 300
    python case_studies/calibration/probe_skew.py fits --noise normal --ladders 40 [--prior "E=HalfNormal(8)" ...]
    python case_studies/calibration/probe_skew.py profile --noise normal --ladders 300
    python case_studies/calibration/probe_skew.py stack --noise normal --ladders 40
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _mle(design, noise: str, n: int) -> None:
    from scipy.optimize import curve_fit

    from ladders import make_ladder

    def model(x, E, a, alpha):
        return np.logaddexp(np.log(np.abs(E) + 1e-12), a - alpha * x)

    errors, E_hat = [], []
    for seed in range(n):
        ladder, targets = make_ladder(design, noise, seed)
        theta, _ = curve_fit(model, np.log(ladder["D"]), np.log(ladder["loss"]),
                             p0=[design.truth["E"], design.truth["a"], design.truth["alpha"]], maxfev=20000)
        E_hat.append(theta[0])
        errors.append(np.exp(model(np.log(targets["D"].to_numpy()), *theta)) / targets["true_mean"].to_numpy() - 1)
    errors = np.array(errors)
    print(f"MLE, {noise} noise, {n} ladders: median E {np.median(E_hat):.3f} (truth {design.truth['E']})")
    print("  share of ladders with the estimate below the truth, per target:", (errors < 0).mean(0).round(3))
    for q, row in zip((5, 25, 50, 75, 95), np.quantile(errors, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)):
        print(f"  {q:>2}% quantile of the relative error:", row.round(4))


def _profile(design, noise: str, n: int) -> None:
    from scipy.optimize import least_squares

    from ladders import make_ladder

    cut = 1.3528  # chi2(1) 90% quantile / 2
    rows = []
    for seed in range(n):
        ladder, targets = make_ladder(design, noise, seed)
        x, y = np.log(ladder["D"].to_numpy()), np.log(ladder["loss"].to_numpy())
        m = len(y)

        def resid(theta):  # theta = (log E, a, alpha)
            return np.logaddexp(theta[0], theta[1] - theta[2] * x) - y

        start = np.array([np.log(design.truth["E"]), design.truth["a"], design.truth["alpha"]])
        best = least_squares(resid, start, method="lm")
        rss_min = 2 * best.cost
        for t, truth in zip(np.log(targets["D"].to_numpy()), targets["true_mean"].to_numpy()):
            psi_hat = np.logaddexp(best.x[0], best.x[1] - best.x[2] * t)

            def prof(psi, theta0):  # fix log L(t) = psi: a = log(e^psi - E) + alpha t, free (log E, alpha)
                def r(z):
                    E = np.exp(z[0])
                    gap = np.exp(psi) - E
                    if gap <= 0:
                        return np.full(m, 1e3)
                    return resid(np.array([z[0], np.log(gap) + z[1] * t, z[1]]))
                fit = least_squares(r, theta0, method="lm")
                return m / 2 * np.log(2 * fit.cost / rss_min), fit.x

            bounds = []
            for sign in (-1, 1):
                z0, step, psi, lr = np.array([best.x[0] - 1e-3 * sign, best.x[2]]), 0.005, psi_hat, 0.0
                while lr <= cut and step * 400 > abs(psi - psi_hat):
                    psi += sign * step
                    lr, z0 = prof(psi, z0)
                bounds.append(psi)
            lo, hi = np.exp(bounds)
            rows.append((lo <= truth <= hi, truth > hi, truth < lo, (hi - lo) / truth))
    r = np.array(rows, float)
    print(f"profile likelihood, {noise} noise, {n} ladders: coverage {r[:, 0].mean():.3f}, truth above "
          f"{r[:, 1].mean():.3f}, below {r[:, 2].mean():.3f}, median width {np.median(r[:, 3]):.4f}")


def _hdi(x: np.ndarray, prob: float = 0.9) -> tuple[float, float]:
    x = np.sort(x)
    k = int(np.floor(prob * len(x)))
    j = int(np.argmin(x[k:] - x[: len(x) - k]))
    return x[j], x[j + k]


def _fits(design, noise: str, n: int, priors: dict, stack: bool) -> None:
    import bayeslaw
    from ladders import make_ladder

    rows = []
    for seed in range(n):
        ladder, targets = make_ladder(design, noise, seed)
        truth = targets["true_mean"].to_numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = bayeslaw.fit(ladder, "power_law", x="D", seed=seed, progress_bar=False, priors=priors or None)
            if stack:
                other = bayeslaw.fit(ladder, "m3", x="D", seed=seed, progress_bar=False)
                fit = bayeslaw.stack({"power_law": fit, "m3": other}, weights="loo")
        pred = fit.predict(targets=targets[["D"]], interval=0.9, seed=seed)
        lo, hi = pred.table["mean_lower"].to_numpy(), pred.table["mean_upper"].to_numpy()
        draws = np.asarray(pred.draws("mean")) if not stack else None
        for i in range(len(targets)):
            row = {"covered": lo[i] <= truth[i] <= hi[i], "above": truth[i] > hi[i], "below": truth[i] < lo[i],
                   "width": (hi[i] - lo[i]) / truth[i]}
            if draws is not None:
                d = draws[:, i]
                h_lo, h_hi = _hdi(d)
                log_d = np.log(d)
                row.update(hdi_covered=h_lo <= truth[i] <= h_hi, hdi_above=truth[i] > h_hi,
                           pit=(d < truth[i]).mean(), z=(np.log(truth[i]) - log_d.mean()) / log_d.std())
            rows.append(row)
    r = {k: np.array([row[k] for row in rows], float) for k in rows[0]}
    what = "stack of power_law and m3 (LOO weights)" if stack else f"power_law, priors {priors or 'default'}"
    print(f"{what}, {noise} noise, {n} ladders:")
    print(f"  equal-tailed 90%: coverage {r['covered'].mean():.3f}, truth above {r['above'].mean():.3f}, "
          f"below {r['below'].mean():.3f}, median width {np.median(r['width']):.4f}")
    if not stack:
        print(f"  shortest 90%:     coverage {r['hdi_covered'].mean():.3f}, truth above {r['hdi_above'].mean():.3f}")
        print(f"  mean PIT {r['pit'].mean():.3f}; z: mean {r['z'].mean():.3f}, mean of z^2 {(r['z'] ** 2).mean():.3f}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=["mle", "profile", "fits", "stack"])
    p.add_argument("--noise", default="normal", choices=["normal", "student_t3"])
    p.add_argument("--ladders", type=int, default=40)
    p.add_argument("--prior", action="append", default=[], metavar="NAME=DIST")
    args = p.parse_args(argv)
    from ladders import DESIGNS

    design = DESIGNS["power_law"]
    if args.what in ("mle", "profile"):
        (_mle if args.what == "mle" else _profile)(design, args.noise, args.ladders)
        return 0
    import run as runner

    runner._init_worker(4)
    _fits(design, args.noise, args.ladders, dict(s.split("=", 1) for s in args.prior), args.what == "stack")
    return 0


if __name__ == "__main__":
    sys.exit(main())
