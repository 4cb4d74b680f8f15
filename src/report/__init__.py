"""`python -m src.report SWEEP_DIR ...`: the paper's Table 1 from a sweep's results.json files.

Seeds give each cell a spread; per-image paired differences vs ReLU give a CI and a Wilcoxon p-value.
"""

from src.report.cli import main

__all__ = ["main"]
