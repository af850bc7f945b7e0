"""Documentation that is generated from code must be current, and the site must build in strict mode."""

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

#: The project does not date findings by numbered work periods.
NUMBERED_SESSION = re.compile(r"\bsessions?\s+\d+", re.IGNORECASE)


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_laws_doc_is_current(tmp_path):
    doc = REPO / "docs" / "laws.md"
    before = doc.read_text()
    subprocess.run([sys.executable, str(REPO / "scripts" / "gen_laws_doc.py")], check=True, capture_output=True)
    after = doc.read_text()
    assert after == before, "docs/laws.md is stale: run `python scripts/gen_laws_doc.py` and commit it"


def test_cli_doc_is_current():
    """docs/cli.md is what scripts/gen_cli_doc.py makes from today's argparse parser."""
    r = subprocess.run([sys.executable, str(REPO / "scripts" / "gen_cli_doc.py"), "--check"], capture_output=True,
                       text=True)
    assert r.returncode == 0, "docs/cli.md is stale: run `python scripts/gen_cli_doc.py` and commit it\n" + r.stderr


def test_cli_doc_examples_parse():
    """Every command has a runnable example on the CLI page, and each one parses with today's options."""
    from bayeslaw.cli import build_parser

    gen = _load(REPO / "scripts" / "gen_cli_doc.py", "gen_cli_doc")
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    assert set(gen.RUNNABLE) == set(commands)
    for name, line in gen.RUNNABLE.items():
        argv = shlex.split(line.replace('"$DATA"', "runs.csv"))
        assert argv[:2] == ["bayeslaw", name]
        args = parser.parse_args(argv[1:])
        assert args.command == name


def test_readme_opens_with_the_two_commands():
    lines = [l for l in (REPO / "README.md").read_text().splitlines() if l.strip()]
    block = lines[lines.index("```bash") + 1: lines.index("```bash") + 3]
    assert block[0].startswith("bash scripts/demo.sh") and block[1].startswith("bash scripts/test.sh")
    assert "scripts/test.sh" in (REPO / ".ci" / "run").read_text()


def test_docs_do_not_date_findings_by_session():
    sources = [*sorted((REPO / "docs").rglob("*.md")), REPO / "mkdocs.yml", REPO / "docs" / "hooks.py"]
    found = [f"{p.relative_to(REPO)}: {m.group(0)!r}" for p in sources
             for m in NUMBERED_SESSION.finditer(p.read_text(encoding="utf-8"))]
    assert not found, "numbered work periods in the docs: " + "; ".join(found)


def test_case_study_links_are_rewritten(tmp_path, monkeypatch):
    """The rule of docs/hooks.py for links in a case study's README (see docs/index.md)."""
    pytest.importorskip("mkdocs", reason="the docs tools come with the test extra: pip install -e '.[test]'")
    hooks = _load(REPO / "docs" / "hooks.py", "docs_hooks")
    repo = tmp_path.resolve()
    study = repo / "case_studies" / "law_comparison"
    (study / "results").mkdir(parents=True)
    (repo / "case_studies" / "calibration").mkdir(parents=True)
    (repo / "case_studies" / "calibration" / "README.md").write_text("# Calibration\n\n## Real learning curves\n")
    (repo / "docs").mkdir()
    (repo / "docs" / "cli.md").write_text("# CLI\n\n## Exit status\n")
    (study / "results" / "overlay.png").write_bytes(b"png")
    (study / "run.py").write_text("")
    readme = study / "README.md"
    readme.write_text(
        "# Law comparison\n\n## Results: the table\n\n"
        "See [the paper](https://arxiv.org/abs/2203.15556), [results](#results-the-table), [gone](#nowhere),\n"
        "[calibration](../calibration/README.md#real-learning-curves), [cli](../../docs/cli.md#exit-status),\n"
        "[run.py](run.py), [the script](run.py), [data](results/laws.csv) and `[code](run.py)`.\n\n"
        "![Overlay](results/overlay.png)\n![ELPD](results/compare.png)\n\n"
        "```\n[in a fence](run.py)\n```\n")
    monkeypatch.setattr(hooks, "REPO", repo)
    added = []
    text = hooks.rewrite_links(readme.read_text(), readme, "case_studies/law_comparison.md",
                               lambda rel, path: added.append(rel))
    assert "[the paper](https://arxiv.org/abs/2203.15556)" in text            # web addresses: kept
    assert "[results](#results-the-table)" in text and "gone," in text         # in-page anchors: kept if they exist
    assert "[calibration](calibration.md#real-learning-curves)" in text        # another case study: its page
    assert "[cli](../cli.md#exit-status)" in text                              # a docs page: that page
    assert "`case_studies/law_comparison/run.py`" in text                      # a file: plain text, repo path
    assert "the script (`case_studies/law_comparison/run.py`)" in text
    assert "data (`case_studies/law_comparison/results/laws.csv`)" in text     # a missing file: plain text
    assert "`[code](run.py)`" in text and "[in a fence](run.py)" in text        # code is left alone
    assert "![Overlay](law_comparison/results/overlay.png)" in text            # an existing image: shown
    assert "figure not generated yet: `case_studies/law_comparison/results/compare.png`" in text
    assert added == ["case_studies/law_comparison/results/overlay.png"]


def test_site_builds_in_strict_mode(tmp_path):
    """`mkdocs build --strict`: any warning (broken link or anchor, unreadable docstring) fails.

    The site holds every case-study page with its figure or a note, and an entry for every public name of the
    package; neither its pages nor its sources date findings by numbered work periods.
    """
    pytest.importorskip("mkdocs", reason="the docs tools come with the test extra: pip install -e '.[test]'")
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                        str(REPO / "mkdocs.yml"), "--site-dir", str(site)],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"mkdocs build --strict failed:\n{r.stdout}\n{r.stderr}"
    pages = {p.relative_to(site).as_posix(): p.read_text(encoding="utf-8") for p in site.rglob("*.html")}
    for name in ("chinchilla_refit", "law_comparison", "calibration"):
        page = pages[f"case_studies/{name}/index.html"]
        assert "<img" in page or "no figure yet" in page, name
    hooks = _load(REPO / "docs" / "hooks.py", "docs_hooks")
    reference = "".join(v for k, v in pages.items() if k.startswith("reference/"))
    missing = [face for face, module, name in hooks.public_names() if f'id="{module}.{name}"' not in reference]
    assert not missing, f"public names without an API reference entry: {missing}"
    found = [f"{k}: {m.group(0)!r}" for k, v in pages.items() for m in NUMBERED_SESSION.finditer(v)]
    assert not found, "numbered work periods in the built site: " + "; ".join(found)
