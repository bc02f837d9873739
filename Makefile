# attngan — run `make help` for the targets.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
UV ?= uv
# where `make install` puts uv when it is not on PATH
BOOTSTRAP ?= .venv-bootstrap
PYTEST_ARGS ?=
# `make train` must fit 20 minutes on 2 CPU cores. The shapes AttnGAN (3 stages, 200 steps per epoch, the training
# options of experiment=shapes_attngan) gets 8 fp32 epochs; where the CPU computes bf16 natively (AVX-512 BF16 / AMX)
# bf16 autocast is ~1.5x faster and gets 12 (why: docs/decisions/012-bf16-default-on-native-bf16-cpus.md,
# 036-shapes-training-options.md; measured: docs/results.md). Override with SHAPES_EPOCHS= / SHAPES_PRECISION=.
NATIVE_BF16 := $(shell grep -qsE 'avx512_bf16|amx_bf16' /proc/cpuinfo && echo yes)
# `make reproduce` trains at the same precision, and plans its budget with that precision's measured generator
# steps/s (docs/reproduce.md#budget; override with REPRODUCE_RATE=).
ifeq ($(NATIVE_BF16),yes)
SHAPES_EPOCHS ?= 12
SHAPES_PRECISION ?= bf16-mixed
REPRODUCE_RATE ?= 2.8
else
SHAPES_EPOCHS ?= 8
SHAPES_PRECISION ?= 32-true
REPRODUCE_RATE ?= 1.6
endif
# where `make train` writes
SHAPES_OUT ?= outputs/shapes

.DEFAULT_GOAL := help

help: ## show this help
	@awk 'BEGIN {FS = ":.*##"; printf "attngan make targets:\n"} /^[a-zA-Z_-]+:.*##/ {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# uv from PATH, else from a bootstrap venv (the system Python is never pip-installed into: PEP 668 systems
# refuse it), else plain `python3 -m venv` + pip. $(1) is the package spec: `-e .` (what the main job needs) or
# `-e .[dev]` (that plus the test, lint, demo, ONNX and notebook tools; sizes and times: docs/results.md).
define install_venv
	@set -e; \
	if command -v $(UV) >/dev/null 2>&1; then uv="$(UV)"; \
	elif [ -x $(BOOTSTRAP)/bin/uv ]; then uv=$(BOOTSTRAP)/bin/uv; \
	elif python3 -m venv $(BOOTSTRAP) >/dev/null 2>&1 && $(BOOTSTRAP)/bin/pip install --quiet uv; then \
		uv=$(BOOTSTRAP)/bin/uv; \
	else uv=""; rm -rf $(BOOTSTRAP); fi; \
	if [ -n "$$uv" ]; then \
		test -x $(PY) || $$uv venv --quiet $(VENV) --python python3; \
		echo "$$uv pip install --python $(PY) $(1)"; \
		$$uv pip install --python $(PY) $(1); \
	else \
		echo "make: uv is not available; using python3 -m venv + pip (slower)"; \
		test -x $(PY) || python3 -m venv $(VENV) || { echo "make: python3 -m venv failed: install the venv module (e.g. apt install python3-venv) or uv (https://docs.astral.sh/uv/)" >&2; exit 1; }; \
		$(PY) -m pip install --upgrade --quiet pip; \
		$(PY) -m pip install $(1); \
	fi
	@touch $@
endef

# the main job's packages (make train, make reproduce)
$(VENV)/.installed-run: pyproject.toml setup.py
	$(call install_venv,-e .)

# the development tools on top (make test, lint, bench, wheel); it includes the main job's packages
$(VENV)/.installed: pyproject.toml setup.py
	$(call install_venv,-e ".[dev]")
	@touch $(VENV)/.installed-run

install: $(VENV)/.installed ## create .venv and install attngan + dev tools (editable; uv, else venv + pip)

install-run: $(VENV)/.installed-run ## create .venv with what the main job needs only (make train does this)

train: $(VENV)/.installed-run ## the main job: shapes DAMSM, then shapes AttnGAN on it (CPU)
	@echo "make train: AttnGAN $(SHAPES_EPOCHS) epochs, trainer.precision=$(SHAPES_PRECISION) (set SHAPES_EPOCHS= SHAPES_PRECISION= to change)"
	$(VENV)/bin/attngan-train experiment=shapes_damsm export_path=$(SHAPES_OUT)/damsm.ckpt hydra.run.dir=$(SHAPES_OUT)/damsm_run overwrite=true
	$(VENV)/bin/attngan-train experiment=shapes_attngan trainer.max_epochs=$(SHAPES_EPOCHS) trainer.precision=$(SHAPES_PRECISION) \
		model.damsm_checkpoint=$(SHAPES_OUT)/damsm.ckpt export_path=$(SHAPES_OUT)/attngan.ckpt hydra.run.dir=$(SHAPES_OUT)/attngan_run overwrite=true
	@$(PY) -m attngan.cli.summary $(SHAPES_OUT)

# `make reproduce` (docs/reproduce.md): extra attngan-reproduce overrides, e.g. REPRODUCE_ARGS="study=lambda"
REPRODUCE_ARGS ?=
reproduce: $(VENV)/.installed-run ## the paper's claims and the recipe study on shapes, <= 150 min on 2 CPU cores, resumable -> outputs/reproduce/report.md
	$(VENV)/bin/attngan-reproduce damsm_checkpoint=$(SHAPES_OUT)/damsm.ckpt \
		"train_overrides=['trainer.precision=$(SHAPES_PRECISION)']" budget.attngan_steps_per_second=$(REPRODUCE_RATE) $(REPRODUCE_ARGS)

browser: ## install headless Chromium + chromedriver for the demo's browser test (Debian packages; root or sudo)
	./.ci/install-browser

test: $(VENV)/.installed ## run the test suite (CPU; in CI, with CI set, installs the browser first)
	@if [ -n "$$CI" ]; then ./.ci/install-browser; fi
	$(VENV)/bin/pytest -q --durations=20 $(PYTEST_ARGS)

test-fast: $(VENV)/.installed ## unit tests only (skips the slow end-to-end tests)
	$(VENV)/bin/pytest -q -m "not slow" $(PYTEST_ARGS)

lint: $(VENV)/.installed ## ruff check + format check
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

format: $(VENV)/.installed ## apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix src tests benchmarks
	$(VENV)/bin/ruff format src tests benchmarks

bench: $(VENV)/.installed ## benchmarks: every variant side by side, interleaved; JSON lines with ratios
	$(PY) benchmarks/run.py
	$(PY) benchmarks/bench_onnx.py

bench-quick: $(VENV)/.installed ## a small benchmark run (timings: docs/results.md)
	$(PY) benchmarks/run.py --quick

wheel: $(VENV)/.installed ## build the wheel into dist/
	$(VENV)/bin/python -m build --wheel --outdir dist .

clean: ## remove build artefacts (keeps .venv and outputs/)
	rm -rf build dist src/*.egg-info .pytest_cache .ruff_cache $(BOOTSTRAP)

.PHONY: help install install-run train reproduce browser test test-fast lint format bench bench-quick wheel clean
