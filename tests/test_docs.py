"""Documentation that is generated from code must be current."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_laws_doc_is_current(tmp_path):
    doc = REPO / "docs" / "laws.md"
    before = doc.read_text()
    subprocess.run([sys.executable, str(REPO / "scripts" / "gen_laws_doc.py")], check=True, capture_output=True)
    after = doc.read_text()
    assert after == before, "docs/laws.md is stale: run `python scripts/gen_laws_doc.py` and commit it"


def test_readme_opens_with_the_two_commands():
    lines = [l for l in (REPO / "README.md").read_text().splitlines() if l.strip()]
    block = lines[lines.index("```bash") + 1: lines.index("```bash") + 3]
    assert block[0].startswith("bash scripts/demo.sh") and block[1].startswith("bash scripts/test.sh")
    assert "scripts/test.sh" in (REPO / ".ci" / "run").read_text()
