# Two commands do all the set-up on a fresh machine:
#   make demo   - the main job on the embedded default (local llama-server + bundled model)
#   make test   - the whole test suite (lint, types, unit, real llama-server, cassettes, notebooks)
VENV ?= .venv
PY := $(VENV)/bin/python
# The bench compares against langchain-openai, which caps openai below 3: its own venv, so the
# project's venv resolves what users get (openai 3.x on httpx2).
BENCH_VENV ?= .venv-bench

.PHONY: demo serve test record synthesize bench lint

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/zenllama demo

serve: $(VENV)/.installed
	$(VENV)/bin/zenllama serve

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check integrations tests bench notebooks
	$(VENV)/bin/mypy

# The whole suite in the project's venv, then the offline suite and a live subset again from
# the built wheel at the newest and at the oldest versions pyproject.toml allows.
test: lint
	$(PY) -m pytest
	$(PY) -m tests.compat.run newest
	$(PY) -m tests.compat.run oldest

# Re-records the llama-server cassettes from the real server (zen ones are synthesized).
record: $(VENV)/.installed
	ZENLLAMA_RECORD=1 $(PY) -m pytest -m cassette

# Re-writes the zen cassettes, SYNTHESIZED from zen's documented wire format (never recorded).
synthesize: $(VENV)/.installed
	$(PY) tests/support/synthesize_zen.py

$(BENCH_VENV)/.installed: pyproject.toml
	python3 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install -q -e '.[bench]'
	touch $@

# Every part in one process group; writes bench/REPORT.md, report.json and report.png.
# `make bench BENCH_ARGS="-n 9"` for more rounds, `BENCH_ARGS="calls wires"` for some parts.
bench: $(BENCH_VENV)/.installed
	$(BENCH_VENV)/bin/python -m bench $(BENCH_ARGS)
