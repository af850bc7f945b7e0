"""Figures: what is drawn (axes scales, bands, points, targets, held-out runs), not pixels."""

import matplotlib

matplotlib.use("Agg")  # tests only; the library never picks a backend

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection, PolyCollection  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402

import bayeslaw  # noqa: E402
from bayeslaw import plots  # noqa: E402
from bayeslaw.inference.diagnostics import diagnostic_numbers  # noqa: E402

TARGET = {"N": [7e10], "D": [1.4e12]}
MAGIC = {".png": b"\x89PNG\r\n\x1a\n", ".pdf": b"%PDF-"}


pytestmark = pytest.mark.usefixtures("plot_context")


@pytest.fixture(scope="module")
def held_out():
    """The five largest-compute runs of the bundled table, as a DataFrame."""
    data = pd.read_csv(bayeslaw.example_data_path())
    return data.nlargest(5, "C")[["N", "D", "C", "loss"]].reset_index(drop=True)


def bands(ax):
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def by_gid(ax, gid):
    found = [a for a in [*ax.collections, *ax.lines] if a.get_gid() == gid]
    assert found, f"no artist with gid {gid!r}"
    return found


def y_extent(poly):
    y = np.concatenate([p.vertices[:, 1] for p in poly.get_paths()])
    return y.min(), y.max()


def targets_container(ax):
    found = [c for c in ax.containers if isinstance(c, ErrorbarContainer) and c.get_label().startswith("target")]
    assert len(found) == 1
    return found[0]


# -- plot_curve ----------------------------------------------------------------------------


def test_curve_optimal_slice_content(chinchilla_fit, held_out):
    fig = plots.plot_curve(chinchilla_fit, TARGET, held_out=held_out)
    assert isinstance(fig, matplotlib.figure.Figure)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "training compute C (FLOPs)"
    assert ax.get_ylabel() == "loss (nats per token)"
    assert "chinchilla" in ax.get_title()

    # three bands: 50% and 90% of the mean law, 90% of a new run, nested
    polys = bands(ax)
    assert len(polys) == 3
    assert {p.get_gid() for p in polys} == {"band_50", "band_outer", "band_new_run"}
    (b50,), (b90,), (bnew,) = by_gid(ax, "band_50"), by_gid(ax, "band_outer"), by_gid(ax, "band_new_run")
    assert y_extent(bnew)[0] <= y_extent(b90)[0] <= y_extent(b50)[0]
    assert y_extent(bnew)[1] >= y_extent(b90)[1] >= y_extent(b50)[1]
    assert bnew.get_linestyle() != b90.get_linestyle()  # the new-run band has a dashed outline

    # one point per fitted run, at its compute (near the frontier or off it)
    (runs,), (off,) = by_gid(ax, "runs"), by_gid(ax, "runs_off_frontier")
    assert isinstance(runs, PathCollection)
    n = chinchilla_fit.spec.data.n_runs
    points = np.concatenate([runs.get_offsets(), off.get_offsets()])
    assert points.shape == (n, 2)
    C = chinchilla_fit.idata["constant_data"]["C"].values
    np.testing.assert_allclose(np.sort(points[:, 0]), np.sort(C))

    # held-out runs: a separate artist labelled "held out"
    (held,) = [c for c in ax.collections if c.get_label() == "held out"]
    assert held is not runs
    np.testing.assert_allclose(held.get_offsets()[:, 0], held_out["C"])
    np.testing.assert_allclose(held.get_offsets()[:, 1], held_out["loss"])

    # the target at C = 6 N D, with an error bar around the predicted median, and a text label
    cont = targets_container(ax)
    line = cont.lines[0]
    np.testing.assert_allclose(line.get_xdata(), [6 * 7e10 * 1.4e12])
    pred = chinchilla_fit.predict(**TARGET).table.iloc[0]
    np.testing.assert_allclose(line.get_ydata(), [pred["mean_median"]], rtol=1e-9)
    assert cont.has_yerr
    seg = cont.lines[2][0].get_segments()[0]
    np.testing.assert_allclose(sorted(seg[:, 1]), [pred["new_run_lower"], pred["new_run_upper"]], rtol=1e-9)
    assert any(t.get_text() == "N = 70B, D = 1.4T" for t in ax.texts)

    # the curve runs from the data to beyond the target
    (median,) = by_gid(ax, "median")
    x = median.get_xdata()
    assert x.min() <= C.min() * 1.0001 and x.max() > 6 * 7e10 * 1.4e12

    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "held out" in labels and f"runs near the frontier (n={len(runs.get_offsets())})" in labels


def test_curve_optimal_frontier_matches_optimal_allocation(chinchilla_fit):
    fig = plots.plot_curve(chinchilla_fit)
    (median,) = by_gid(fig.axes[0], "median")
    x, y = median.get_xdata(), median.get_ydata()
    i = len(x) // 2
    dec = chinchilla_fit.optimal_allocation([x[i]])
    np.testing.assert_allclose(y[i], np.median(dec.draws("loss_opt")[:, 0]), rtol=1e-9)


def test_curve_accepts_a_prediction_and_compute_only_targets(chinchilla_fit):
    pred = chinchilla_fit.predict(N=[7e10, 2.8e11], D=[1.4e12, 5.6e12])
    ax = plots.plot_curve(chinchilla_fit, pred).axes[0]
    line = targets_container(ax).lines[0]
    np.testing.assert_allclose(line.get_xdata(), pred.table["C"])
    np.testing.assert_allclose(line.get_ydata(), pred.table["mean_median"])
    ax = plots.plot_curve(chinchilla_fit, {"C": [1e24]}).axes[0]
    line = targets_container(ax).lines[0]
    np.testing.assert_allclose(line.get_xdata(), [1e24])
    dec = chinchilla_fit.optimal_allocation([1e24])
    np.testing.assert_allclose(line.get_ydata(), [np.median(dec.draws("loss_opt"))], rtol=1e-9)


def test_curve_ratio_slice_follows_d_equals_r_n(chinchilla_fit):
    ax = plots.plot_curve(chinchilla_fit, TARGET, slice="ratio=20").axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert len(bands(ax)) == 3
    assert "D = 20 N" in ax.get_title()
    (median,) = by_gid(ax, "median")
    c = median.get_xdata()[10]
    N = np.sqrt(c / (6 * 20))
    expected = chinchilla_fit.predict(N=N, D=20 * N).table["mean_median"].iloc[0]
    np.testing.assert_allclose(median.get_ydata()[10], expected, rtol=1e-9)


def test_curve_n_slice_one_line_per_size(chinchilla_fit, held_out):
    ax = plots.plot_curve(chinchilla_fit, TARGET, slice="N", held_out=held_out).axes[0]
    assert ax.get_xlabel() == "training tokens D"
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    slices = [ln for ln in ax.lines if ln.get_gid() == "slice"]
    n_sizes = len(np.unique(chinchilla_fit.idata["constant_data"]["N"].values))
    assert len(slices) == min(5, n_sizes)
    assert all(ln.get_label().startswith("N = ") for ln in slices)
    assert len({tuple(ln.get_color()) for ln in slices}) == len(slices)  # one colour per size
    assert len(bands(ax)) == len(slices)  # one mean-law band per size
    (runs,) = by_gid(ax, "runs")
    assert runs.get_offsets().shape[0] == chinchilla_fit.spec.data.n_runs
    assert len(runs.get_facecolors()) == runs.get_offsets().shape[0]  # coloured point by point
    assert [c.get_label() for c in ax.collections].count("held out") == 1
    targets_container(ax)


def test_curve_one_variable_law(power_law_fit, held_out):
    ax = plots.plot_curve(power_law_fit, {"N": [7e10]}, held_out=held_out).axes[0]
    assert ax.get_xlabel() == "parameters N"
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert len(bands(ax)) == 3
    (runs,) = by_gid(ax, "runs")
    np.testing.assert_allclose(np.sort(runs.get_offsets()[:, 0]),
                               np.sort(power_law_fit.idata["constant_data"]["N"].values))
    np.testing.assert_allclose(targets_container(ax).lines[0].get_xdata(), [7e10])
    (held,) = [c for c in ax.collections if c.get_label() == "held out"]
    np.testing.assert_allclose(held.get_offsets()[:, 0], held_out["N"])
    with pytest.raises(bayeslaw.BayeslawError, match="slice"):
        plots.plot_curve(power_law_fit, slice="N")


def test_curve_draws_into_a_given_axes(power_law_fit):
    fig, (a1, a2) = plt.subplots(1, 2)
    out = plots.plot_curve(power_law_fit, ax=a2)
    assert out is fig
    assert len(bands(a2)) == 3 and not a1.collections


def test_curve_rejects_bad_arguments(chinchilla_fit, held_out):
    with pytest.raises(bayeslaw.BayeslawError, match="slice must be"):
        plots.plot_curve(chinchilla_fit, slice="ratio=-3")
    with pytest.raises(bayeslaw.BayeslawError, match="ci_prob must be a probability between 0.5 and 1"):
        plots.plot_curve(chinchilla_fit, ci_prob=1.5)
    with pytest.raises(bayeslaw.DataError, match="loss"):
        plots.plot_curve(chinchilla_fit, held_out=held_out.drop(columns="loss"))
    assert plt.get_fignums() == []  # nothing is drawn before the arguments are checked


# -- plot_optimum --------------------------------------------------------------------------


def test_optimum_two_log_panels_with_bands(chinchilla_fit):
    fig = plots.plot_optimum(chinchilla_fit)
    assert len(fig.axes) == 2
    C_fit = chinchilla_fit.idata["constant_data"]["C"].values
    for ax, key, var in zip(fig.axes, ("N_opt", "D_opt"), ("N", "D")):
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        assert ax.get_xlabel() == "training compute C (FLOPs)"
        assert var in ax.get_ylabel()
        assert len(bands(ax)) == 2
        (median,) = by_gid(ax, "median")
        x = median.get_xdata()
        assert len(x) == 30
        np.testing.assert_allclose([x[0], x[-1]], [C_fit.min(), 100 * C_fit.max()], rtol=1e-9)
        dec = chinchilla_fit.optimal_allocation(x[[5]])
        np.testing.assert_allclose(median.get_ydata()[5], dec.table[f"{key}_median"].iloc[0], rtol=1e-9)
        lo, hi = y_extent(by_gid(ax, "band_outer")[0])
        assert lo < median.get_ydata().min() * 1.0001 and hi > median.get_ydata().max() * 0.9999


def test_optimum_custom_budgets(chinchilla_fit):
    fig = plots.plot_optimum(chinchilla_fit, C=[1e21, 1e22, 1e23])
    np.testing.assert_allclose(by_gid(fig.axes[0], "median")[0].get_xdata(), [1e21, 1e22, 1e23])


def test_optimum_needs_a_law_of_n_and_d(power_law_fit):
    with pytest.raises(bayeslaw.LawError, match="N and tokens D"):
        plots.plot_optimum(power_law_fit)


# -- arviz-plots figures and saving --------------------------------------------------------


def axes_titles(fig):
    assert isinstance(fig, matplotlib.figure.Figure)  # every plot function returns a Figure
    return {ax.get_title() for ax in fig.axes}


def test_params_prior_posterior_in_readable_scales(chinchilla_fit):
    pc = plots.plot_params(chinchilla_fit)
    titles = axes_titles(pc)
    # amplitudes whose priors span many decades on log10 axes; exponents and nu as is
    assert {"log10 A", "log10 B", "alpha", "beta", "nu"} <= titles
    assert "A" not in titles
    pc = plots.plot_params(chinchilla_fit, ["alpha", "A"], log_scale=False)
    assert {"alpha", "A"} <= axes_titles(pc)
    with pytest.raises(bayeslaw.BayeslawError, match="No posterior variable"):
        plots.plot_params(chinchilla_fit, ["gamma"])


def test_diagnostics_title_gives_the_numbers(chinchilla_fit):
    fig = plots.plot_diagnostics(chinchilla_fit)
    assert isinstance(fig, matplotlib.figure.Figure)
    s = diagnostic_numbers(chinchilla_fit.idata, chinchilla_fit.param_names)  # the numbers the checks use
    assert f"max R-hat {s['max_rhat']:.3f}" in fig.get_suptitle()
    assert f"{s['divergences']} divergences" in fig.get_suptitle()
    ylabels = {ax.get_ylabel() for ax in fig.axes}
    assert set(chinchilla_fit.param_names) <= ylabels  # one rank row per parameter
    plots.plot_diagnostics(chinchilla_fit, ["E"], kind="trace")


@pytest.mark.parametrize("which", ["curve", "params", "diagnostics", "optimum"])
def test_save_figure_formats(chinchilla_fit, tmp_path, which):
    make = {"curve": lambda: plots.plot_curve(chinchilla_fit, TARGET),
            "params": lambda: plots.plot_params(chinchilla_fit),
            "diagnostics": lambda: plots.plot_diagnostics(chinchilla_fit),
            "optimum": lambda: plots.plot_optimum(chinchilla_fit, C=[1e20, 1e22, 1e24])}[which]
    obj = make()
    for suffix in (".png", ".svg", ".pdf"):
        out = plots.save_figure(obj, tmp_path / f"fig{suffix}")
        assert out == tmp_path / f"fig{suffix}"
        data = out.read_bytes()
        assert len(data) > 1000
        if suffix == ".svg":
            assert b"<svg" in data[:2000]
        else:
            assert data.startswith(MAGIC[suffix])
    # no temporary file left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.pdf", "fig.png", "fig.svg"]


def test_save_figure_rejects_unknown_suffix(power_law_fit, tmp_path):
    fig = plots.plot_curve(power_law_fit)
    with pytest.raises(bayeslaw.BayeslawError, match=r"\.png, \.svg or \.pdf"):
        plots.save_figure(fig, tmp_path / "fig.jpeg")
    with pytest.raises(bayeslaw.BayeslawError, match="Figure"):
        plots.save_figure("not a figure", tmp_path / "fig.png")


# -- stacks of laws of different inputs ----------------------------------------------------


def test_stack_of_a_law_of_n_and_d_and_a_law_of_n():
    """A ladder fitted by chinchilla (N, D) and by a power law in N alone: their stack can be drawn along D = r N
    (or per model size), not along the compute-optimal frontier, which a law of N lacks."""
    rng = np.random.default_rng(0)
    N = np.repeat(np.logspace(7, 9, 8), 6)
    D = N * np.tile([1, 3, 10, 30, 100, 300], 8)
    loss = (1.69 + 406.4 / N**0.34 + 410.7 / D**0.28) * np.exp(0.02 * rng.standard_normal(N.size))
    runs = bayeslaw.load_runs(pd.DataFrame({"N": N, "D": D, "loss": loss}))
    kw = dict(num_chains=2, num_warmup=300, num_samples=300, seed=1, check=False,  # programs other tests compile
              curvature=False)
    fits = {"chinchilla": bayeslaw.fit(runs, "chinchilla", **kw), "power_law": bayeslaw.fit(runs, "power_law", x="N", **kw)}
    s = bayeslaw.stack(fits, [0.5, 0.5])
    # equal shares: all 600 draws of each fit
    assert s.num_draws == 1200 and dict(s.draw_counts) == {"chinchilla": 600, "power_law": 600}
    with pytest.raises(bayeslaw.LawError, match="'power_law' is a law of N.*slice='ratio=20'"):
        plots.plot_overlay(s)
    assert plt.get_fignums() == []
    ax = plots.plot_overlay(s, TARGET, slice="ratio=20").axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log" and ax.get_xlabel() == "training compute C (FLOPs)"
    assert len([c for c in ax.collections if c.get_gid() == "band_model"]) == 2
    assert len([c for c in ax.collections if c.get_gid() == "band_stack"]) == 1
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"chinchilla (weight 0.50)", "power_law (weight 0.50)"} <= set(legend)
    line = targets_container(ax).lines[0]
    np.testing.assert_allclose(line.get_ydata(), s.predict(**TARGET).table["mean_median"], rtol=1e-9)
    # a stack of one-variable fits is drawn against their variable, without slices
    same = bayeslaw.stack({"a": fits["power_law"], "b": fits["power_law"]}, [1, 1])
    ax = plots.plot_curve(same, {"N": [7e10]}).axes[0]
    assert ax.get_xlabel() == "parameters N" and len(bands(ax)) == 3
    with pytest.raises(bayeslaw.BayeslawError, match="slice"):
        plots.plot_curve(same, slice="N")


# -- figures a person would put in a paper (issue 15, items 12, 14, 15, 16) -----------------


def no_overlap(boxes):
    return not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def check_readable(fig):
    """What every figure owes its reader: no empty axes, labelled axes, tick labels that do not overlap."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        assert ax.has_data() or ax.texts, f"empty axes {ax.get_title()!r}"
        for labels in (ax.get_xticklabels(), ax.get_yticklabels()):
            boxes = [t.get_window_extent(renderer) for t in labels if t.get_visible() and t.get_text()]
            assert no_overlap(boxes), [t.get_text() for t in labels]
    return renderer


def check_curve_axes(ax, renderer):
    assert ax.get_xlabel() and ax.get_ylabel().startswith("loss (")  # the loss with its unit
    legend = ax.get_legend().get_window_extent(renderer)
    for poly in bands(ax):  # the legend covers no band
        for path in poly.get_paths():
            assert not poly.get_transform().transform_path(path).intersects_bbox(legend, filled=True), poly.get_gid()
    edge = [ln for ln in ax.lines if ln.get_linestyle() == ":"][0].get_xdata()[0]
    line_x = ax.transData.transform((edge, 1.0))[0]
    frame = ax.get_window_extent(renderer)
    for label in [t for t in ax.texts if t.get_gid() == "target_label"]:  # inside, clear of the edge line
        box = label.get_window_extent(renderer)
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and not box.x0 < line_x < box.x1, label.get_text()


def test_curve_figures_are_readable(chinchilla_fit, power_law_fit, held_out):
    fig = plots.plot_curve(chinchilla_fit, TARGET, held_out=held_out)
    check_curve_axes(fig.axes[0], check_readable(fig))
    assert fig.axes[0].get_ylabel() == "loss (nats per token)"
    fig = plots.plot_curve(power_law_fit, {"N": [7e10]}, held_out=held_out)
    check_curve_axes(fig.axes[0], check_readable(fig))
    fig = plots.plot_overlay(bayeslaw.stack({"a": power_law_fit, "b": power_law_fit}, [1, 1]), {"N": [7e10]})
    check_curve_axes(fig.axes[0], check_readable(fig))


def test_curve_draws_runs_off_the_frontier_apart(chinchilla_fit):
    ax = plots.plot_curve(chinchilla_fit).axes[0]
    (near,), (off,) = by_gid(ax, "runs"), by_gid(ax, "runs_off_frontier")
    assert len(near.get_offsets()) + len(off.get_offsets()) == chinchilla_fit.spec.data.n_runs
    assert len(off.get_offsets()) > 10 and off.get_facecolor().size == 0  # hollow
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("runs off the frontier") for t in legend)
    # an off-frontier run's law value lies above the frontier at its compute; a run near it does not
    c = bayeslaw.curve(chinchilla_fit)
    runs = c.runs
    law = chinchilla_fit.predict(N=runs["N"], D=runs["D"]).table["mean_median"].to_numpy()
    band = c.line()
    frontier = np.exp(np.interp(np.log(runs["C"]), np.log(band["x"]), np.log(band["mean_median"])))
    assert np.all(law[runs["off_frontier"].to_numpy()] > frontier[runs["off_frontier"].to_numpy()])


def test_optimum_marks_the_requested_budget(chinchilla_fit):
    fig = plots.plot_optimum(chinchilla_fit, budget=5.76e23)
    check_readable(fig)
    dec = chinchilla_fit.optimal_allocation(5.76e23).table
    for ax, key in zip(fig.axes, ("N_opt", "D_opt")):
        (line,) = by_gid(ax, "budget")
        assert line.get_xdata()[0] == 5.76e23
        (marker,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        np.testing.assert_allclose(marker.lines[0].get_ydata(), dec[f"{key}_median"], rtol=1e-9)
        assert "requested budget" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("5.8" in t.get_text() and "D*/N*" in t.get_text() for t in fig.axes[1].texts)


def test_params_draw_the_prior_over_the_posterior_range(chinchilla_fit):
    fig = plots.plot_params(chinchilla_fit)
    check_readable(fig)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert len(panels) == len(chinchilla_fit.param_names)  # no empty panel left over
    for ax in panels:
        name = ax.get_title().removeprefix("log10 ")
        draws = chinchilla_fit.draws(name)
        if ax.get_title().startswith("log10 "):
            draws = np.log10(draws)
        lo, hi = ax.get_xlim()
        width = np.ptp(np.quantile(draws, [0.005, 0.995]))
        assert lo >= draws.min() - width and hi <= draws.max() + width  # the posterior's range, not the prior's
        (prior,) = [ln for twin in fig.axes if twin is not ax and twin.bbox.bounds == ax.bbox.bounds
                    for ln in twin.lines if ln.get_gid() == "prior"]
        assert np.all(np.isfinite(prior.get_ydata())) and prior.get_ydata().max() <= 1.0 + 1e-9
        assert "narrower than the prior" in ax.get_xlabel()


def test_diagnostics_rank_panels_have_an_envelope_a_scale_and_words(chinchilla_fit):
    fig = plots.plot_diagnostics(chinchilla_fit)
    check_readable(fig)
    rank = [ax for ax in fig.axes if any(c.get_gid() == "rank_envelope" for c in ax.collections)]
    assert len(rank) == len(chinchilla_fit.param_names)
    for ax in rank:
        assert [t.get_text() for t in ax.get_yticklabels() if t.get_text()]  # a y scale
        texts = [t.get_text() for t in ax.texts]
        assert not any("\u03b1=" in t for t in texts)
        assert any(t.startswith(("chains agree (rank test p = ", "chains differ (rank test p = ")) for t in texts)
    assert "simultaneous envelope" in rank[0].get_title()


def test_diagnostics_drawn_again_for_the_same_fit_are_a_fresh_copy(chinchilla_fit, tmp_path, monkeypatch):
    """The demo draws the figure, then its report again: the second is the first's copy, not a second rank test."""
    from bayeslaw.plots import posterior

    first = plots.plot_diagnostics(chinchilla_fit)
    def refuse(*args):
        raise RuntimeError("drawn again")

    monkeypatch.setattr(posterior, "_draw_diagnostics", refuse)
    again = plots.plot_diagnostics(chinchilla_fit)
    assert again is not first and again.get_suptitle() == first.get_suptitle()
    assert [ax.get_ylabel() for ax in again.axes] == [ax.get_ylabel() for ax in first.axes]
    assert [[t.get_text() for t in ax.texts] for ax in again.axes] == [[t.get_text() for t in ax.texts]
                                                                        for ax in first.axes]
    again.axes[0].set_title("drawn on by the caller")
    assert plots.plot_diagnostics(chinchilla_fit).axes[0].get_title() != "drawn on by the caller"
    plots.save_figure(again, tmp_path / "d.png")
    assert (tmp_path / "d.png").stat().st_size > 10_000
    with pytest.raises(RuntimeError, match="drawn again"):   # other arguments are drawn
        plots.plot_diagnostics(chinchilla_fit, ["E"])
    plt.close("all")


def test_plot_compare_marks_fits_that_failed_their_checks(chinchilla_fit):
    import dataclasses
    import warnings

    bad = dataclasses.replace(chinchilla_fit, spec=chinchilla_fit.spec.replace(
        diagnostics=({"check": "r_hat", "message": "R-hat 1.1"},)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayeslaw.DiagnosticWarning)
        cmp = bayeslaw.compare({"good": chinchilla_fit, "bad": bad}, refit=False, failed="include")
    fig = plots.plot_compare(cmp)
    check_readable(fig)
    ax = fig.axes[0]
    labels = {t.get_text().split(" ")[0]: t for t in ax.get_yticklabels()}
    assert labels["bad"].get_text().endswith("failed checks: r_hat") and "failed" not in labels["good"].get_text()
    assert labels["bad"].get_color() != labels["good"].get_color()
    (row,) = [p for p in ax.patches if p.get_gid() == "failed_checks"]
    assert row.get_hatch() == "///"
    assert "failed its diagnostic checks" in ax.get_title()


def test_posterior_predictive_for_arviz(chinchilla_fit, tmp_path):
    import arviz_plots

    idata = chinchilla_fit.idata
    pp, obs = idata["posterior_predictive"]["log_loss"], idata["observed_data"]["log_loss"]
    assert pp.dims == ("chain", "draw", "run") and pp.sizes["run"] == obs.sizes["run"]
    np.testing.assert_array_equal(pp["run"].values, obs["run"].values)
    assert np.all(np.isfinite(pp.values))
    # centred on the runs: a new run's log loss at each fitted run's size
    assert np.corrcoef(np.median(pp.values, axis=(0, 1)), obs.values)[0, 1] > 0.95
    arviz_plots.plot_ppc_dist(idata)
    arviz_plots.plot_loo_pit(idata)
    # not saved (recomputed on load from the posterior and the seed: the same draws)
    chinchilla_fit.save(tmp_path / "f")
    import xarray as xr

    with xr.open_datatree(tmp_path / "f" / "fit.nc", engine="netcdf4") as saved:
        assert "posterior_predictive" not in saved.children
    back = bayeslaw.load(tmp_path / "f")
    np.testing.assert_array_equal(back.idata["posterior_predictive"]["log_loss"].values, pp.values)


@pytest.fixture(scope="module")
def examples_fit(tmp_path_factory):
    """A learning-curve fit made with x="seen_examples" (30 runs: the power_law program of other tests)."""
    rng = np.random.default_rng(3)
    s = np.geomspace(20, 600, 30)
    data = pd.DataFrame({"seen_examples": s, "loss": (1.5 + 20 * s ** -0.5) * rng.lognormal(0.0, 0.01, s.size)})
    fit = bayeslaw.fit(data, "power_law", x="seen_examples", num_chains=2, num_warmup=300, num_samples=300, seed=1,
                       check=False)
    root = tmp_path_factory.mktemp("examples")
    fit.save(root / "fit")
    t = np.array([700.0, 930.0])
    pd.DataFrame({"seen_examples": t, "loss": 1.5 + 20 * t ** -0.5}).to_csv(root / "test.csv", index=False)
    return fit, root


def test_held_out_runs_are_read_with_the_fits_column_mapping(examples_fit, capsys):
    from bayeslaw.cli import main

    fit, root = examples_fit
    held = pd.read_csv(root / "test.csv")
    fig = plots.plot_curve(fit, {"x": [930.0]}, held_out=held)
    ax = fig.axes[0]
    check_curve_axes(ax, check_readable(fig))
    (pts,) = by_gid(ax, "held_out")
    np.testing.assert_allclose(pts.get_offsets()[:, 0], [700.0, 930.0])
    assert ax.get_xlabel() == "size seen_examples"
    assert [t.get_text() for t in ax.texts if t.get_gid() == "target_label"] == ["seen_examples = 930"]
    out = root / "curve.png"
    assert main(["plot", str(root / "fit"), "--kind", "curve", "--held-out", str(root / "test.csv"),
                 "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == MAGIC[".png"]
    assert main(["report", str(root / "fit"), "--held-out", str(root / "test.csv"), "-o", str(root / "r.html")]) == 0
    text = (root / "r.html").read_text()
    assert "C = 6 N D" not in text  # a law of seen_examples has no compute convention
    capsys.readouterr()
