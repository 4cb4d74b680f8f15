# Two commands for a newcomer: `make demo` (the whole study on bundled photos, on a CPU) and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build keeps a laptop install small (~200 MB, not several GB of CUDA); on a GPU machine:
# `make install TORCH=torch`.
TORCH ?= torch==2.13.0+cpu
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
DATA_DIR ?= data
# OpenMP threads that spin while waiting turn CPU contention (DDP ranks, a busy CI box) into 10-100x slower
# steps; passive waiting costs nothing measurable when the machine is idle.
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: help install test test-fast lint demo demo-smoke data bench bench-gpu gpu-check clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q "$(TORCH)" || $(BIN)/python -m pip install -q --index-url $(TORCH_CPU_INDEX) torch
	$(BIN)/python -m pip install -q -e ".[dev,dashboards]"
	touch $@

install: $(VENV)/.installed  ## create .venv with torch and the project

# `:=` takes the time once: each use of a `?=` holding $(shell date) would take it again.
DEMO_STAMP := $(shell date +%Y%m%d-%H%M%S)
DEMO_DIR ?= multirun/demo-$(DEMO_STAMP)
# Two sweeps, x2 then x4: each x4 job starts from the finished x2 job of its activation and seed (init_from: x2 in
# conf/experiment/demo.yaml), and jobs of one sweep run side by side. identity is the linear-network control.
DEMO_AXES := seed=0,1,2,3 activation=relu,lrelu,swish,mish,identity experiment=demo
DEMO_JOBS := 40
DEMO_BICUBIC := model=bicubic experiment=demo
# More overrides for every training job (demo-smoke shortens the runs; the demo itself takes the experiment's).
DEMO_TRAIN_ARGS :=

demo: install  ## the whole study on images shipped with scikit-image, on a CPU (~10 min): 40 jobs, bicubic, Table 1
	@echo "demo: $(DEMO_JOBS) jobs ($(DEMO_AXES), x2 then x4) into $(DEMO_DIR) (images: $${SR_DEMO_DATA_DIR:-~/.cache/srsweep/demo})"
	@start=$$(date +%s) && for scale in 2 4; do \
		OMP_NUM_THREADS=1 $(BIN)/python -m src.train -m scale=$$scale $(DEMO_AXES) $(DEMO_TRAIN_ARGS) hydra.sweep.dir=$(DEMO_DIR) || exit 1; \
	done && printf '{"seconds": %s, "command": "python -m src.train -m scale=2|4 %s", "jobs": %s, "finished": "%s"}\n' \
		"$$(( $$(date +%s) - start ))" "$(strip $(DEMO_AXES) $(DEMO_TRAIN_ARGS))" "$(DEMO_JOBS)" "$$(date -u +%Y-%m-%dT%H:%M:%S+00:00)" \
		> $(DEMO_DIR)/demo_seconds.json
	$(BIN)/python -m src.evaluate $(DEMO_BICUBIC) scale=2 hydra.run.dir=$(DEMO_DIR)/bicubic_x2
	$(BIN)/python -m src.evaluate $(DEMO_BICUBIC) scale=4 hydra.run.dir=$(DEMO_DIR)/bicubic_x4
	$(BIN)/python -m src.report $(DEMO_DIR) --qualitative
	@echo "next: the table      $(DEMO_DIR)/report/table1.md"
	@echo "      the plots      $(DEMO_DIR)/report/delta_psnr.png (dPSNR vs ReLU with seed-level 95% CIs), $(DEMO_DIR)/report/*.png"
	@echo "      per image      $(DEMO_DIR)/report/per_image_x2.png, per_image.csv (which test images carry each dPSNR)"
	@echo "      crops          $(DEMO_DIR)/report/qualitative_x2_*.png (HR | bicubic | each activation, where they differ most)"
	@echo "      the W&B runs   wandb sync $(DEMO_DIR)/*/wandb/offline-run-*"
	@echo "      W&B dashboards $(BIN)/python -m src.dashboard $(DEMO_DIR)  (a dry run until you wandb login; then it publishes)"

# The newcomer's first command as CI runs it: the demo recipe above, from a fresh HOME with empty data root,
# image cache and W&B/matplotlib folders, on 2 seeds x 2 activations and a few steps. The 4 jobs of each sweep
# start at once (4 joblib workers, whatever the core count), so they build the data root and fill the cache
# together, as the demo's jobs do on a first run.
SMOKE_AXES := seed=0,1 activation=relu,identity experiment=demo
SMOKE_TRAIN_ARGS := trainer.max_steps=6 data.steps_per_epoch=3 'optim.milestones=[4]' hydra.launcher.n_jobs=4
SMOKE_JOBS := 8

demo-smoke: install  ## `make demo` in miniature from a fresh HOME and empty caches, as CI runs it (~70 s)
	@fresh=$$(mktemp -d) && mkdir "$$fresh/home" && start=$$(date +%s) && \
	if env -u XDG_CACHE_HOME -u XDG_CONFIG_HOME -u MPLCONFIGDIR -u WANDB_DIR -u WANDB_CACHE_DIR -u WANDB_CONFIG_DIR \
		HOME="$$fresh/home" SR_DEMO_DATA_DIR="$$fresh/home/demo-data" SR_CACHE_DIR="$$fresh/home/cache" WANDB_MODE=offline \
		$(MAKE) --no-print-directory demo DEMO_DIR="$$fresh/sweep" DEMO_AXES="$(SMOKE_AXES)" \
			DEMO_TRAIN_ARGS="$(SMOKE_TRAIN_ARGS)" DEMO_JOBS=$(SMOKE_JOBS) \
		&& test "$$(ls "$$fresh"/sweep/*/results.json | wc -l)" -eq $$(( $(SMOKE_JOBS) + 2 )) \
		&& test -s "$$fresh/sweep/report/table1.md"; then \
		echo "demo-smoke: passed in $$(( $$(date +%s) - start )) s"; rm -rf "$$fresh"; \
	else echo "demo-smoke: FAILED after $$(( $$(date +%s) - start )) s; its files are in $$fresh" >&2; exit 1; fi

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

gpu-check: install  ## prove the GPU path in one command (<8 min on one H100/H200); without CUDA its logic on the CPU
	$(BIN)/python -m benchmarks.gpu_check

clean:  ## remove outputs of local runs (not data, not the venv)
	rm -rf outputs multirun .pytest_cache .ruff_cache
