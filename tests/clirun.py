"""Shared by the hostile-input CLI tests: run ``bayeslaw.cli.main`` in this process and read its streams, and
check that a refusal is exactly one ``error:`` sentence with exit status 2."""

from bayeslaw.cli import main


def run(capsys, argv):
    """(exit status, stdout, stderr) of ``bayeslaw ARGV`` run in this process."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_sentence_error(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], lines[0]
