# almm_rllib — every install step lives here. Run `make help` for the list.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install demo train tensorboard book-demo dashboard browser test lint format bench clean

help:  ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: $(STAMP)  ## create .venv and install the package (editable) with its test extras; no-op when up to date

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 needed, found {sys.version.split()[0]} (set PYTHON=...)"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: install  ## the main job: train PPO (experiments/ppo_local.yaml) locally, evaluate it against every baseline
	$(BIN)/almm demo

EXPERIMENT ?= experiments/ppo_local.yaml
train: install  ## train an experiment on an embedded local Ray: make train [EXPERIMENT=experiments/x.yaml]
	$(BIN)/almm train $(EXPERIMENT)

tensorboard: install  ## serve TensorBoard for the runs under results/tune (http://localhost:6006)
	$(BIN)/tensorboard --logdir results/tune --host localhost --port 6006

book-demo: install  ## stream two million random orders through the compiled book; snapshots and throughput
	$(BIN)/almm book-demo

DASHBOARD_ARGS ?=
dashboard: install  ## serve the dashboard on http://localhost:8501 (Live Simulation, Strategy Comparison, Deep Analysis, Portfolio View)
	$(BIN)/almm dashboard $(DASHBOARD_ARGS)

CHROMIUM ?= /usr/bin/chromium
browser:  ## Chromium for the dashboard's browser tests (apt-get, as root); no-op when $(CHROMIUM) exists
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Chromium for the browser tests (apt-get install chromium) ..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "Chromium not found at $(CHROMIUM) and not root: the dashboard's browser tests will be skipped"; fi

test: install browser  ## install if needed (and Chromium, as root), then run the whole test suite
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: install  ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install  ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install  ## run the performance benchmarks (ratios against a reference measured in the same run)
	$(BIN)/python benchmarks/bench_lob.py
	$(BIN)/python benchmarks/bench_sim.py
	$(BIN)/python benchmarks/bench_env.py
	$(BIN)/python benchmarks/bench_train.py

clean:  ## remove caches (including numba's compiled-kernel cache); keeps .venv and results/
	find . -path ./.venv -prune -o -name __pycache__ -type d -print -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache .hypothesis $${XDG_CACHE_HOME:-$$HOME/.cache}/almm_rllib

.PHONY: train-cluster cluster-up cluster-down

train-cluster: EXPERIMENT = experiments/ppo_cluster.yaml
train-cluster: install  ## submit EXPERIMENT (default experiments/ppo_cluster.yaml) to the cluster at RAY_ADDRESS=http://HOST:8265 as a Ray job, follow its logs, exit with its status
	$(BIN)/python -m almm_rllib.cluster.submit $(EXPERIMENT) $(if $(RAY_ADDRESS),--address $(RAY_ADDRESS)) $(SUBMIT_ARGS)

cluster-up: install  ## start a local two-node Ray cluster on this machine (head + cpu_worker node, own ports and temp dirs in /tmp/almm_cluster)
	$(BIN)/python -m almm_rllib.cluster.local up $(CLUSTER_ARGS)

cluster-down: install  ## stop the local cluster of cluster-up: exactly the processes it started, by PID
	$(BIN)/python -m almm_rllib.cluster.local down $(CLUSTER_ARGS)
