# Two commands for a newcomer: `make demo` opens the app on a sample project, `make test` runs
# every test. Both install what they need first (uv is bootstrapped with pip when missing).
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PORT ?= 8501

.PHONY: setup uv demo demo-ready app test test-fast lint browser-deps

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv

# --compile-bytecode: without it, where PYTHONDONTWRITEBYTECODE is set, every worker recompiles
# TensorFlow's modules at start (18 s instead of 4.5 s here; benchmarks/README.md, latency).
setup: uv
	$(UV) sync --frozen --all-groups --compile-bytecode
	@# @tensorflow/tfjs from the npm registry (web/package-lock.json), copied into TF.js bundles.
	@if ! command -v npm >/dev/null 2>&1; then echo "warning: npm not found; TF.js bundles need it"; \
	elif [ web/node_modules/.package-lock.json -nt web/package-lock.json ]; then :; \
	else npm ci --prefix web --no-audit --no-fund --silent || echo "warning: npm ci failed in web/"; fi

demo: browser-deps setup
	$(UV) run --frozen tfstudio app --demo --port $(PORT)

# `make demo` opens the app at once; one process runs the story (a model, its int8 variant, its
# export with a TF.js bundle, a search) meanwhile, ~23 s on a quiet 2-core machine (the Home page
# counts it). Before a meeting, `make demo-ready` builds it in .demo-home and waits for it.
demo-ready: browser-deps setup
	$(UV) run --frozen python -m core.demo --prepare .demo-home

app: setup
	$(UV) run --frozen tfstudio app --port $(PORT)

# Debian's Chromium for the browser tests (Playwright drives it; no browser download), and
# Node.js/npm for the TF.js library the TF.js bundles carry (when the machine lacks them).
browser-deps:
	@missing=""; command -v chromium >/dev/null 2>&1 || missing="chromium"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

test: browser-deps setup
	$(UV) run --frozen pytest

# Everything except real TensorFlow training and the browser (about a minute).
test-fast: setup
	$(UV) run --frozen pytest -m "not slow"

lint: setup
	$(UV) run --frozen ruff check core dashboard pages tests
	$(UV) run --frozen mypy
