# Two commands for a newcomer: `make demo` (the whole study on bundled photos, on a CPU) and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build keeps a laptop install small (~200 MB, not several GB of CUDA); on a GPU machine:
# `make install TORCH=torch`.
TORCH ?= torch==2.13.0+cpu
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
DATA_DIR ?= data

.PHONY: help install test test-fast lint demo data bench bench-gpu clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q "$(TORCH)" || $(BIN)/python -m pip install -q --index-url $(TORCH_CPU_INDEX) torch
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

install: $(VENV)/.installed  ## create .venv with torch and the project

test: install  ## run the whole test suite (slow end-to-end tests included)
	$(BIN)/python -m pytest -q

test-fast: install  ## the tests without the end-to-end CLI runs
	$(BIN)/python -m pytest -q -m "not slow"

lint: install  ## ruff
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

data: install  ## download DIV2K and the benchmark sets into DATA_DIR (resumable, verified)
	$(BIN)/python -m src.data.download --data-dir $(DATA_DIR)

bench: install  ## CPU benchmarks: side-by-side ratios, written to benchmarks/results.json
	$(BIN)/python -m benchmarks.run

bench-gpu: install  ## GPU training throughput and model FLOP utilisation of EDSR full (needs CUDA)
	$(BIN)/python -m benchmarks.gpu

clean:  ## remove outputs of local runs (not data, not the venv)
	rm -rf outputs multirun .pytest_cache .ruff_cache
