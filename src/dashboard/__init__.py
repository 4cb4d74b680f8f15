"""W&B dashboards for one sweep: saved workspace views and a Table 1 report, built with `wandb-workspaces`.

Only this package imports `wandb_workspaces` (the optional extra `dashboards`); the rest of the tool never does.
"""
