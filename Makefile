# Two entry points: `make demo` and `make test`. Both install into .venv first; `make test`
# also installs the JavaScript test clients (tests/clients) from their npm lock.
VENV ?= .venv
PYTHON ?= python3
# `make demo` installs what the server needs (requirements-runtime.lock); `make test` and
# `make lint` add the development tools (requirements.lock: the runtime pins and the tools).
RUNTIME_STAMP := $(VENV)/.runtime-installed
STAMP := $(VENV)/.installed
# JavaScript clients for tests/test_js_clients.py, reinstalled only when their lock changes.
JS_CLIENTS := tests/clients
JS_STAMP := $(JS_CLIENTS)/node_modules/.installed

.PHONY: install demo test lint schema

$(RUNTIME_STAMP): requirements-runtime.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --require-hashes -r requirements-runtime.lock
	$(VENV)/bin/pip install --quiet --no-deps -e .
	touch $(RUNTIME_STAMP)

$(STAMP): requirements.lock $(RUNTIME_STAMP)
	$(VENV)/bin/pip install --quiet --require-hashes -r requirements.lock
	touch $(STAMP)

install: $(STAMP)

$(JS_STAMP): $(JS_CLIENTS)/package-lock.json
	npm ci --prefix $(JS_CLIENTS) --no-audit --no-fund
	touch $(JS_STAMP)

demo: $(RUNTIME_STAMP)
	$(VENV)/bin/learntrack serve --demo

# The second pass runs the API's tests again on graphql-core's standard executor (without
# the fast paths); tests that run no GraphQL operation, or compare both executors
# themselves, run once.
EXECUTOR_INDEPENDENT := test_static_checks test_schema_lint test_migrations test_grading \
	test_retry_policy test_js_clients test_graphiql_browser test_serve_end_to_end \
	test_worker_supervision test_embedded_sharing test_executor_equivalence test_field_coverage

test: install $(JS_STAMP)
	$(VENV)/bin/pytest
	LEARNTRACK_FAST_EXECUTION=off $(VENV)/bin/pytest -q \
		$(foreach name,$(EXECUTOR_INDEPENDENT),--ignore=tests/$(name).py)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy gql domain db
	$(VENV)/bin/lint-imports

schema: install
	$(VENV)/bin/learntrack schema > schema.graphql
