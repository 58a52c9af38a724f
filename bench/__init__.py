"""Benchmarks: `rag bench` / `python -m bench` (scale: bench/scale.py), plus the stand-alone
scripts bench/run.py (default-corpus speed), bench/embedders.py and bench/tune_extractive.py."""
