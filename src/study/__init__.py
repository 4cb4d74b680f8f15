"""Sequential studies: seeds only where a comparison is undecided, with error rates that hold over every look.

design.py (what is declared), boundaries.py (t boundaries per look by alpha spending), decide.py (one look's
verdicts), schedule.py (which runs the next look needs), endpoint.py (per-seed primary-endpoint differences from
finished jobs), state.py (the study's files), runner.py (looks through src.train), table.py, cli.py
(`python -m src.study`), simulate.py (`python -m src.study.simulate`: operating characteristics).
"""
