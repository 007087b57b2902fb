# ctip: the README's commands. Each sets up what it needs, from nothing.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export DJANGO_SETTINGS_MODULE ?= config.settings.local

.PHONY: demo test lint typecheck check-migrations check-schema messages schema bench system browser-deps clean help

help:
	@echo "make demo   set up and serve the demo on SQLite at http://127.0.0.1:8000"
	@echo "make test   set up and run the whole suite (tests, lint, types, migrations, schema, messages)"
	@echo "make bench  benchmarks, each figure against a baseline run in the same process"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Reinstall only when the dependencies change: a second `make demo` takes seconds.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

messages: $(STAMP)
	cd src/ctip && ../../$(BIN)/ctip compilemessages -v0

var:
	mkdir -p var

demo: $(STAMP) messages var
	$(BIN)/ctip migrate -v0
	$(BIN)/ctip geography load
	$(BIN)/ctip demo-data --size small --seed 1
	$(BIN)/ctip demo-users
	$(BIN)/ctip runserver 127.0.0.1:8000

# Debian packages the tests need (Chromium for the browser test, gettext, Khmer fonts).
system:
	./scripts/install-system-packages

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy src config

check-migrations: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/ctip makemigrations --check --dry-run -v1

schema: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/ctip spectacular --file docs/openapi.yaml --validate --fail-on-warn

check-schema: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/ctip spectacular --file var/openapi.check.yaml --validate --fail-on-warn
	diff -u docs/openapi.yaml var/openapi.check.yaml || (echo "docs/openapi.yaml is stale: run 'make schema' and commit it" && exit 1)

test: system $(STAMP) messages var lint typecheck check-migrations check-schema
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/pytest -n 2 --dist loadfile
	DJANGO_SETTINGS_MODULE=config.settings.production CTIP_SECRET_KEY=$$(printf 'x%.0s' $$(seq 60))-check-deploy-only $(BIN)/ctip check --deploy --fail-level WARNING

bench: $(STAMP) var
	DJANGO_SETTINGS_MODULE=config.settings.local $(BIN)/python -m bench

clean:
	rm -rf $(VENV) var
