# Two commands on a fresh machine: `make demo` (train on the bundled tweets) and `make test`.
# Both create .venv when missing. torch is installed first and pinned to one version (the pin does not pick a CPU
# build: on Python 3.12/3.13 the registry's torch==2.13.0 pulls CUDA wheels; README, first lines).
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-fast lint bench clean browser-deps

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "need $(PY) (set PY=python3 to use another 3.11)"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[serve,export,experiments,baselines,dev]"
	touch $(STAMP)

venv: $(STAMP)

# A demo model already in runs/demo (perhaps exported to ONNX since) is kept; what an interrupted demo left there
# (a checkpoint, no model) is replaced.
demo: $(STAMP)
	@if [ -e runs/demo/model ]; then \
	  echo "runs/demo holds the demo model already (kept). Train it again with: $(BIN)/lstmtext demo --out runs/demo --overwrite"; \
	else $(BIN)/lstmtext demo --out runs/demo --overwrite; fi

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not browser"

# Lint (ruff's rules in pyproject.toml: syntax errors, pyflakes, import order); CI runs it before the tests.
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks studies

# The browser test (tests/server/test_browser.py, marker `browser`) drives Debian's chromium through playwright
# (installed with the dev extra); playwright's own browser download is not used. Needs root or sudo for apt.
browser-deps: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || { SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -q && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }
	$(BIN)/python -c "import playwright" 2>/dev/null || $(BIN)/pip install -q "playwright>=1.40,<2"

bench: $(STAMP)
	$(BIN)/python benchmarks/train_speed.py

# Only what make itself made: the demo run and pytest's cache (never your own runs, which may be in runs/ too).
clean:
	rm -rf runs/demo .pytest_cache
