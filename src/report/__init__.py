"""`python -m src.report SWEEP_DIR ...`: the paper's Table 1 from a sweep's results.json files.

Seeds give each cell a spread; per-seed differences vs ReLU of the same seed give a paired t-interval, a
Holm-adjusted p-value and the minimum detectable effect; `--plan` sizes the next sweep.
"""

from src.report.cli import main

__all__ = ["main"]
