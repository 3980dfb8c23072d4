# Two commands for a newcomer: `make demo` opens the app on a sample project, `make test` runs
# every test. Both install what they need first (uv is bootstrapped with pip when missing).
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PORT ?= 8501

.PHONY: setup uv demo app test test-fast lint browser-deps

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv

setup: uv
	$(UV) sync --frozen --all-groups

demo: setup
	$(UV) run --frozen tfstudio app --demo --port $(PORT)

app: setup
	$(UV) run --frozen tfstudio app --port $(PORT)

# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; fi; }

test: setup browser-deps
	$(UV) run --frozen pytest

# Everything except real TensorFlow training and the browser (about a minute).
test-fast: setup
	$(UV) run --frozen pytest -m "not slow"

lint: setup
	$(UV) run --frozen ruff check core dashboard pages tests
