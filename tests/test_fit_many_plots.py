"""Figures of fit_many's collections: plot_curve draws one panel per curve; figures of one fit refuse a collection
in one sentence that says to pass fits[key]."""

import matplotlib

matplotlib.use("Agg")  # tests only; the library never picks a backend

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import bayeslaw  # noqa: E402
from bayeslaw import plots  # noqa: E402
from bayeslaw.core.collection import Each  # noqa: E402
from bayeslaw.plots.grid import MAX_PANELS, grid_shape  # noqa: E402

SMALL = dict(num_chains=2, num_warmup=300, num_samples=300, seed=0, check=False)


def ladder(seed: int, n: int = 14) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d = np.geomspace(1e8, 1e10, n)
    return pd.DataFrame({"D": d, "loss": (1.5 + 0.1 * seed + 400 * d ** -0.3) * np.exp(rng.normal(0, 0.02, n))})


pytestmark = pytest.mark.usefixtures("plot_context")


@pytest.fixture(scope="module")
def table():
    return pd.concat([ladder(i).assign(task=f"t{i}") for i in range(3)], ignore_index=True)


@pytest.fixture(scope="module")
def fits(table):
    """power_law fitted to the three curves' runs with D <= 3e9 (the rest held out)."""
    return bayeslaw.fit_many(table[table["D"] <= 3e9], "power_law", by="task", x="D", method="loop", **SMALL)


def test_plot_curve_of_a_collection_is_one_panel_per_curve(fits, table, tmp_path):
    test = table[table["D"] > 3e9]
    fig = plots.plot_curve(fits, {"D": [1e11]}, held_out=test)
    axes = fig.axes
    assert len(axes) == 3 and grid_shape(3) == (1, 3)
    for ax, key in zip(axes, fits):
        assert ax.get_title().startswith(f"task = {key}")
        assert ax.get_xscale() == ax.get_yscale() == "log"
        (runs,) = [c for c in ax.collections if c.get_gid() == "runs"]
        assert len(runs.get_offsets()) == fits[key].spec.data.n_runs == 10
        (held,) = [c for c in ax.collections if c.get_gid() == "held_out"]   # this curve's held-out runs only
        np.testing.assert_allclose(np.sort(held.get_offsets()[:, 1]),
                                   np.sort(test.loc[test["task"] == key, "loss"].to_numpy()))
        assert ax.get_legend() is None and ax.get_xlabel() == "training tokens D"
        failed = [d["check"] for d in fits[key].spec.diagnostics]   # named, in red
        assert ("failed checks: " + ", ".join(failed) in ax.get_title()) == bool(failed)
        assert (ax.title.get_color() == "#b2182b") == bool(failed)
    (legend,) = fig.legends   # one legend for the grid, runs not counted per panel
    labels = [t.get_text() for t in legend.get_texts()]
    assert "runs" in labels and "held out" in labels and len(labels) == len(set(labels))
    assert fig.get_suptitle().startswith("power_law: ") and "3 curves by task" in fig.get_suptitle()
    path = plots.save_figure(fig, tmp_path / "grid.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    by_dict = plots.plot_curve(fits, held_out={"t1": test[test["task"] == "t1"]})
    assert [sum(c.get_gid() == "held_out" for c in ax.collections) for ax in by_dict.axes] == [0, 1, 0]


def test_grid_shapes_and_the_panel_limit(fits):
    assert [grid_shape(n) for n in (1, 2, 4, 5, 7, 9, 10, 16)] == \
        [(1, 1), (1, 2), (2, 2), (2, 3), (2, 4), (3, 3), (3, 4), (4, 4)]
    one = fits["t0"]
    many = bayeslaw.Fits({f"c{i}": one for i in range(MAX_PANELS + 1)}, by="task")
    with pytest.raises(bayeslaw.BayeslawError, match=r"^plot_curve draws at most 16 curves on one grid and this "
                                                     r"collection holds 17; pass one curve \(fits\['c0'\]\)"):
        plots.plot_curve(many)
    assert not plt.get_fignums()   # refused before a figure was made
    four = plots.plot_curve(bayeslaw.Fits({f"c{i}": one for i in range(4)}))
    assert len(four.axes) == 4 and four.axes[0].get_title().split(" (")[0] == "c0"   # no by: the key alone
    assert four.axes[0].get_xlabel() == "" and four.axes[2].get_xlabel() == "training tokens D"


def test_figures_of_one_fit_refuse_a_collection_in_one_sentence(fits):
    for figure in (plots.plot_params, plots.plot_diagnostics, plots.plot_optimum):
        name = figure.__name__
        with pytest.raises(bayeslaw.BayeslawError, match=rf"^{name} draws one fit, and this is a collection of 3 "
                                                         rf"\(one per curve\); pass one of them, e\.g\. "
                                                         rf"{name}\(fits\['t0'\]\)\.$"):
            figure(fits)
    with pytest.raises(bayeslaw.BayeslawError, match=r"plot_compare\(comparisons\['t0'\]\)"):
        plots.plot_compare(Each({"t0": None, "t1": None}))
    with pytest.raises(bayeslaw.BayeslawError, match=r"plot_overlay\(stacks\['t0'\]\)"):
        plots.plot_overlay(Each({"t0": None}))
    with pytest.raises(bayeslaw.BayeslawError, match=r"leave ax out, or draw one curve into it"):
        _, ax = plt.subplots()
        plots.plot_curve(fits, ax=ax)
    with pytest.raises(bayeslaw.BayeslawError, match=r"slice='N' draws one line per model size"):
        plots.plot_curve(fits, slice="N")
    with pytest.raises(bayeslaw.BayeslawError, match=r"held_out names 't7', which is not a curve"):
        plots.plot_curve(fits, held_out={"t7": ladder(7)})
    with pytest.raises(bayeslaw.BayeslawError, match=r"this collection has no by"):
        plots.plot_curve(bayeslaw.Fits(dict(fits)), held_out=ladder(7))
    with pytest.raises(bayeslaw.BayeslawError, match=r"'t1' holds a str, so plot its own figure"):
        plots.plot_curve(Each({"t0": fits["t0"], "t1": "not a fit"}))


def test_report_of_a_collection_is_refused_in_one_sentence(fits, tmp_path):
    with pytest.raises(bayeslaw.BayeslawError) as err:
        bayeslaw.write_report(fits, tmp_path / "report.html")
    msg = str(err.value)
    assert msg.startswith("write_report writes one fit's report, and this is a collection of 3 (one per curve)")
    assert "write_report(fits['t0'], ...)" in msg and msg.replace("e.g. ", "").count(". ") == 0
    assert not (tmp_path / "report.html").exists()
