# RehabLink: `make demo` and `make test` are the two commands; both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# apt-get needs root: use sudo on a developer's machine, nothing when already root (CI).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install demo test lint bench clean browser

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Headless Chromium from Debian for the dashboards' browser tests (never a downloaded browser build).
browser:
	test -x /usr/bin/chromium || { $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends chromium; }

demo: install
	$(BIN)/rehab demo

test: install browser lint
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

# Every benchmark; each prints its figures (the server ones seed 1,000 patients first: minutes).
bench: install
	$(BIN)/python benchmarks/accuracy.py
	$(BIN)/python benchmarks/speed.py
	$(BIN)/python benchmarks/decoders.py
	$(BIN)/python benchmarks/ble_link.py
	$(BIN)/python benchmarks/companion.py
	$(BIN)/python benchmarks/server_ingest.py
	$(BIN)/python benchmarks/server_queries.py
	$(BIN)/python benchmarks/dashboard_pages.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
