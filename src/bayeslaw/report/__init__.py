"""The HTML report of a fit: ``write_report(fit, "report.html", targets=..., ci_prob=...)``."""

from .page import write_report

__all__ = ["write_report"]
