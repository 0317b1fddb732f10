# Two entry points: `make demo` and `make test`. Both install into .venv first; `make test`
# also installs the JavaScript test clients (tests/clients) from their npm lock.
VENV ?= .venv
PYTHON ?= python3
STAMP := $(VENV)/.installed
# JavaScript clients for tests/test_js_clients.py, reinstalled only when their lock changes.
JS_CLIENTS := tests/clients
JS_STAMP := $(JS_CLIENTS)/node_modules/.installed

.PHONY: install demo test lint schema

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --require-hashes -r requirements.lock
	$(VENV)/bin/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

$(JS_STAMP): $(JS_CLIENTS)/package-lock.json
	npm ci --prefix $(JS_CLIENTS) --no-audit --no-fund
	touch $(JS_STAMP)

demo: install
	$(VENV)/bin/learntrack serve --demo

test: install $(JS_STAMP)
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy gql domain db

schema: install
	$(VENV)/bin/learntrack schema > schema.graphql
