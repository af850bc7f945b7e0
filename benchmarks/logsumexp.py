"""A/B of the log-space sum a law's mean is built from: chained ``jnp.logaddexp`` against one max shift.

The three-term Chinchilla mean ``logsumexp(e, a - alpha log N, b - beta log D)`` on 256 rows inside a
squared-error log density; one gradient timed inside a compiled ``fori_loop`` of 10,000 steps, the
forms interleaved ``--rounds`` times and the minimum kept (this machine is shared and noisy). Prints a
Markdown table: microseconds per gradient and the ratio to the chained form. Usage::

    python benchmarks/logsumexp.py --rounds 8
"""

from __future__ import annotations

import argparse
import functools
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--rows", type=int, default=256)
    args = ap.parse_args(argv)
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    from bayeslaw.core.law import logsumexp as shifted

    def chained(*t):
        out = t[0]
        for x in t[1:]:
            out = jnp.logaddexp(out, x)
        return out

    def stacked(*t):
        return jax.nn.logsumexp(jnp.stack(jnp.broadcast_arrays(*t)), axis=0)

    ln, ld, y = (jax.random.normal(jax.random.PRNGKey(i), (args.rows,)) for i in range(3))

    def compiled(form):
        def log_density(p):
            return -jnp.sum((y - form(p[0], p[1] - p[2] * ln, p[3] - p[4] * ld)) ** 2)
        grad = jax.grad(log_density)
        return jax.jit(lambda p: jax.lax.fori_loop(0, 10_000, lambda i, c: c + 1e-9 * grad(c), p))

    forms = {"chained jnp.logaddexp": chained, "jax.nn.logsumexp of a stack": stacked,
             "bayeslaw.core.law.logsumexp (one max shift)": shifted}
    p = jnp.array([0.5, 1.0, 0.3, 1.2, 0.3])
    args_ = [p[0] + 0 * ln, p[1] - p[2] * ln, p[3] - p[4] * ld]
    assert float(jnp.max(jnp.abs(chained(*args_) - shifted(*args_)))) < 1e-12
    programs = {k: compiled(f) for k, f in forms.items()}
    for prog in programs.values():
        prog(p).block_until_ready()
    best = {k: float("inf") for k in forms}
    for _ in range(args.rounds):
        for k, prog in programs.items():
            t0 = time.perf_counter()
            prog(p).block_until_ready()
            best[k] = min(best[k], (time.perf_counter() - t0) / 10_000 * 1e6)
    base = best["chained jnp.logaddexp"]
    print("| form | µs per gradient (min of rounds) | ratio to chained |\n|---|---|---|")
    for k, v in best.items():
        print(f"| {k} | {v:.2f} | {v / base:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
