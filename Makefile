# klantbeeld's developer interface. Every target does its own set-up on a fresh clone.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9

# The venv's tools first: dagster-dbt looks for `dbt` on PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)

# All runtime state lives under one data directory.
export KLANTBEELD_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(KLANTBEELD_DATA_DIR)/dagster
# Telemetry off: it waits on the closed network and slows every command (see STACK.md).
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export GX_ANALYTICS_ENABLED := false
export MLFLOW_DISABLE_TELEMETRY := true
# This machine sets PYTHONDONTWRITEBYTECODE: compiled bytecode saves ~7 s per process.
export UV_COMPILE_BYTECODE := 1

DEMO_PEOPLE ?= 5000
SEED ?= 42
UI_PORT ?= 3000
# Test processes (pytest-xdist): the heavy pipeline fixtures run side by side on the two cores.
TEST_WORKERS ?= 2
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DBT_FILES := $(shell find dbt_project -path dbt_project/target -prune -o -type f \( -name '*.sql' -o -name '*.yml' -o -name '*.csv' -o -name '*.py' \) -print 2>/dev/null)

.PHONY: help install demo train sources manifest test lint format ui bench bench-identity evaluate evaluate-ml clean system-packages

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.installed: pyproject.toml uv.lock | $(BIN)/uv
	# --inexact keeps uv itself, which lives in the same venv
	$(BIN)/uv sync --frozen --inexact --all-groups
	touch $@

install: $(VENV)/.installed ## Create .venv and install the locked dependencies

$(DAGSTER_HOME)/dagster.yaml: orchestration/dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp $< $@

dbt_project/target/manifest.json: $(VENV)/.installed $(DBT_FILES)
	$(BIN)/dagster-dbt project prepare-and-package --file orchestration/dbt_project.py

manifest: dbt_project/target/manifest.json ## Parse the dbt project into the manifest Dagster loads

sources: $(VENV)/.installed ## Generate the simulated source systems (DEMO_PEOPLE, SEED), if not there yet
	@if [ -f "$(KLANTBEELD_DATA_DIR)/sources/_truth/manifest.json" ]; then \
	  echo "Simulated sources already in $(KLANTBEELD_DATA_DIR)/sources (make clean to start over)"; \
	else \
	  $(BIN)/python -m simulator generate --people $(DEMO_PEOPLE) --seed $(SEED); \
	fi

demo: install manifest sources $(DAGSTER_HOME)/dagster.yaml ## Generate the demo sources, run the nightly job, train the models, score
	$(BIN)/dagster job execute -m orchestration -j nightly
	@# the first night has no trained model yet: train once (weekly from then on), then score
	$(BIN)/dagster job execute -m orchestration -j ml_training
	$(BIN)/dagster job execute -m orchestration -j ml_scoring
	$(BIN)/python -m orchestration.summary
	$(BIN)/python -m orchestration.identity.evaluate
	$(BIN)/python -m ml.evaluate

train: install manifest $(DAGSTER_HOME)/dagster.yaml ## Train the models now (the ml_training job; weekly when scheduled)
	$(BIN)/dagster job execute -m orchestration -j ml_training

evaluate: install ## Score the identity resolution against the simulator's truth (pairwise precision/recall/F1)
	$(BIN)/python -m orchestration.identity.evaluate --min-precision 0.995 --min-recall 0.98 --scope profile

evaluate-ml: install ## Score the nightly predictions against the simulator's truth (AUC, calibration, CLV error)
	$(BIN)/python -m ml.evaluate --check

ui: install manifest $(DAGSTER_HOME)/dagster.yaml ## Start the Dagster UI (webserver + daemon) on http://127.0.0.1:$(UI_PORT)
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p $(UI_PORT)

system-packages: ## Install the Debian packages the tests need (PostgreSQL server)
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  echo "Installing PostgreSQL from Debian for the integration tests"; \
	  $(SUDO) apt-get update -qq; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi

lint: install ## ruff and sqlfluff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint dbt_project/models --disable-progress-bar --processes 0

format: install ## Apply ruff's formatting and fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The linters (sqlfluff takes ~50 s) run beside the test suite rather than before it; either failing fails.
test: install manifest system-packages ## Lint and run the whole test suite
	@lint_log=$$(mktemp); \
	$(MAKE) --no-print-directory lint > $$lint_log 2>&1 & lint_pid=$$!; \
	tests=0; $(BIN)/pytest -n $(TEST_WORKERS) || tests=$$?; \
	linted=0; wait $$lint_pid || linted=$$?; \
	echo "--- make lint"; cat $$lint_log; rm -f $$lint_log; \
	if [ $$linted -ne 0 ]; then echo "make lint failed"; fi; \
	exit $$(( tests != 0 ? tests : linted ))

BENCH_PEOPLE ?= 100000
BENCH_DIR ?= /tmp/klantbeeld-bench-$(BENCH_PEOPLE)

bench: install ## Time the generator, then the extraction of what it wrote (BENCH_PEOPLE=100000)
	$(BIN)/python benchmarks/bench_simulator.py --people $(BENCH_PEOPLE) --data-dir $(BENCH_DIR) --keep
	$(BIN)/python benchmarks/bench_extraction.py --data-dir $(BENCH_DIR)

bench-identity: install manifest ## Identity resolution vs plain Splink on a BENCH_PEOPLE world (prepared once in BENCH_DIR)
	@if [ ! -f "$(BENCH_DIR)/sources/_truth/manifest.json" ]; then \
	  $(BIN)/python -m simulator generate --people $(BENCH_PEOPLE) --seed $(SEED) --data-dir $(BENCH_DIR); fi
	@if [ ! -f "$(BENCH_DIR)/warehouse.duckdb" ]; then \
	  $(BIN)/python benchmarks/bench_extraction.py --data-dir $(BENCH_DIR) --no-repeat && \
	  mv $(BENCH_DIR)/bench_warehouse.duckdb $(BENCH_DIR)/warehouse.duckdb; fi
	KLANTBEELD_DATA_DIR=$(BENCH_DIR) $(BIN)/dbt run --project-dir dbt_project --profiles-dir dbt_project \
	  --select staging --target-path $(BENCH_DIR)/dbt-target --log-path $(BENCH_DIR)/dbt-logs
	$(BIN)/python benchmarks/bench_identity.py --data-dir $(BENCH_DIR)

clean: ## Remove the data directory (sources, warehouse, run history) and dbt artifacts
	rm -rf "$(KLANTBEELD_DATA_DIR)" dbt_project/target dbt_project/logs
