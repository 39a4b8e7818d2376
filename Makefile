# nerlm — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export VIRTUAL_ENV := $(abspath $(VENV))
export PYO3_PYTHON := $(abspath $(BIN)/python)
export PATH := $(abspath $(BIN)):$(PATH)
DEPS   := $(VENV)/.deps-installed

.PHONY: help venv build demo test test-rust test-python lint wheel wheel-check bench bench-venv clean

help:  ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(DEPS): pyproject.toml tools/deps.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -U pip
	$(BIN)/python tools/deps.py dev > $(VENV)/requirements.txt
	$(BIN)/python -m pip install -q -r $(VENV)/requirements.txt
	touch $@

venv: $(DEPS)  ## create .venv and install the dependencies (torch, transformers, dev tools)

build: $(DEPS)  ## build the Rust extension (release) and install nerlm into .venv, editable
	$(BIN)/maturin develop --release --quiet

demo: build  ## few-shot grounded extraction with Gemma-3-270M on CLUENER dev samples, then scores
	$(BIN)/nerlm demo

test: build test-rust lint wheel-check test-python  ## set up, then Rust tests, lint, wheel check and pytest

test-rust:  ## cargo test of the pure-Rust core (unit, property and doc tests)
	cargo test --quiet

test-python: build  ## pytest (installs Debian's chromium for the report screenshot test when root)
	command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; } || echo "chromium not installed: the report screenshot test will be skipped"
	$(BIN)/python -m pytest

lint: build  ## rustfmt, clippy (warnings are errors), ruff, mypy, stubtest of nerlm._native
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --quiet -- -D warnings
	$(BIN)/ruff check python tests tools benches
	$(BIN)/ruff format --check python tests tools benches
	$(BIN)/mypy
	$(BIN)/python -m mypy.stubtest nerlm._native

wheel: $(DEPS)  ## build the release wheel (for this Python version) into dist/
	rm -rf dist
	$(BIN)/maturin build --release --quiet --out dist

wheel-check: wheel  ## install the wheel into a fresh virtual environment and import it
	rm -rf build/wheel-venv
	$(PYTHON) -m venv build/wheel-venv
	build/wheel-venv/bin/python -m pip install -q dist/nerlm-*.whl
	cd build && wheel-venv/bin/python -c "import nerlm, nerlm._native as n; \
	assert nerlm.__file__.startswith('$(abspath build/wheel-venv)'), nerlm.__file__; \
	print('wheel OK:', nerlm.__version__, n.__file__)"
	build/wheel-venv/bin/nerlm --help > /dev/null

build/bench-venv/.done:  # the peers, pinned, in their own environment
	$(PYTHON) -m venv build/bench-venv
	build/bench-venv/bin/python -m pip install -q xgrammar==0.2.8 llguidance==1.9.1 outlines-core==0.2.14 transformers tokenizers numpy
	touch $@

bench-venv: build/bench-venv/.done  ## install the benchmark peers (xgrammar, llguidance, outlines-core)

bench: build bench-venv  ## benchmark scripts (see benches/README.md)
	$(BIN)/python benches/bench_align.py
	$(BIN)/python benches/bench_score.py
	$(BIN)/python benches/bench_tags.py
	$(BIN)/python benches/bench_similarity.py
	$(BIN)/python benches/bench_tables.py
	cargo bench -p nerlm-benches
	$(BIN)/python benches/bench_generate.py

clean:  ## remove build outputs (keeps .venv)
	rm -rf target dist build
