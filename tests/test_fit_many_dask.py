"""fit_many on a Dask cluster: the same chunks as tasks, gathered into the same collection with the same draws,
including when a worker dies while the tasks run (the chunk is run again on another worker)."""

import os
import signal
import threading

import numpy as np
import pytest

import bayeslaw

distributed = pytest.importorskip("distributed", reason="dask[distributed] is not installed (pip install '.[dask]')")

from test_fit_many import ladder  # noqa: E402

KW = dict(x="D", num_chains=2, num_warmup=150, num_samples=150, seed=3, check=False, chunk=2, method="vectorized")


@pytest.mark.slow
def test_dask_path_equals_the_local_path_with_a_killed_worker():
    tables = {f"c{i}": ladder(i, n=12 if i % 2 else 20) for i in range(6)}   # two shapes, three chunks each
    local = bayeslaw.fit_many(tables, "power_law", **KW)
    env = {"JAX_PLATFORMS": "cpu", "BAYESLAW_CACHE_DIR": os.environ.get("BAYESLAW_CACHE_DIR", "")}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  env={k: v for k, v in env.items() if v}) as cluster, \
            distributed.Client(cluster) as client:
        victim = sorted(client.scheduler_info()["workers"])[0]
        pid = client.run(os.getpid, workers=[victim])[victim]
        # kill one worker (SIGKILL) while the chunks run on it; its nanny starts a new one
        timer = threading.Timer(2.0, os.kill, (pid, signal.SIGKILL))
        timer.start()
        remote = bayeslaw.fit_many(tables, "power_law", client=client, **KW)
        timer.join()
        assert victim not in client.scheduler_info()["workers"]   # the worker did die
    assert list(remote) == list(local)
    for key in tables:
        np.testing.assert_array_equal(remote[key].draws("alpha"), local[key].draws("alpha"))
        assert remote[key].spec.data.n_runs == len(tables[key])
