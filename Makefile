# Backstock developer commands. `make run` and `make test` are all a new machine needs.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
VENV_PY := $(VENV)/bin/python
PIP_INSTALL := $(VENV_PY) -m pip install --quiet --disable-pip-version-check

PORT ?= 8000
ARGS ?=

# The first interpreter that really is 3.12 or newer. `python3.12` first: with pyenv the `python3`
# shim follows .python-version, but elsewhere python3 may be an older system Python.
PYTHON_OK := import sys; sys.exit(sys.version_info < (3, 12))
ifndef PYTHON
PYTHON := $(shell for candidate in python3.12 python3; do \
	if $$candidate -c '$(PYTHON_OK)' >/dev/null 2>&1; then echo $$candidate; break; fi; \
done)
endif

.PHONY: help run serve test lint format bench worker

help:
	@echo "make run    start the demo on http://127.0.0.1:$(PORT)/ (migrate, demo data, demo accounts)"
	@echo "make serve  production: migrate, collectstatic, gunicorn on PostgreSQL (see README, Production)"
	@echo "make worker run the background task worker (customer emails); beside run or serve"
	@echo "make test   run the test suite (ARGS=\"-k name\" to pass options to pytest)"
	@echo "make lint   ruff check, ruff format --check and lint-imports (the layers)"
	@echo "make format ruff format and ruff check --fix"
	@echo "make bench  benchmark on PostgreSQL at 100,000 products, writes docs/performance.md (BENCH_SIZE=S for 1/100)"

$(VENV_PY):
	@if [ -z "$(PYTHON)" ] || ! $(PYTHON) -c '$(PYTHON_OK)' >/dev/null 2>&1; then \
		found=$$($(or $(PYTHON),python3) --version 2>&1 || echo "no $(or $(PYTHON),python3)"); \
		echo "Backstock needs Python 3.12 or newer; found: $$found." >&2; \
		echo "Install it (e.g. pyenv install 3.12) or point to it: make PYTHON=/path/to/python3.12" >&2; \
		exit 1; \
	fi
	$(PYTHON) -m venv $(VENV)

# Stamps live inside .venv, so deleting the venv also forgets what was installed in it. They are
# newer than pyproject.toml until it changes, and only then does pip run again.
$(VENV)/.installed: pyproject.toml | $(VENV_PY)
	$(PIP_INSTALL) -e .
	@touch $@

$(VENV)/.installed-bench: pyproject.toml | $(VENV_PY)
	$(PIP_INSTALL) -e '.[bench]'
	@touch $@ $(VENV)/.installed

$(VENV)/.installed-dev: pyproject.toml | $(VENV_PY)
	$(PIP_INSTALL) -e '.[dev]'
	@touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	@export DJANGO_DEBUG="$${DJANGO_DEBUG:-1}"; set -e; \
	$(VENV_PY) manage.py migrate --no-input; \
	$(VENV_PY) manage.py seed_demo; \
	$(VENV_PY) manage.py demo_accounts; \
	exec $(VENV_PY) manage.py runserver 127.0.0.1:$(PORT)

# Production: debug off, PostgreSQL only (config/preflight.py says why), static files collected with
# hashed names and served by WhiteNoise, gunicorn with WEB_CONCURRENCY sync workers (2 x cores + 1
# for the usual 2 cores). Every request is logged by the app, so gunicorn's access log stays off.
serve: $(VENV)/.installed
	@export DJANGO_DEBUG=0; set -e; \
	$(VENV_PY) -m config.preflight; \
	$(VENV_PY) manage.py migrate --no-input; \
	$(VENV_PY) manage.py collectstatic --no-input --verbosity 0; \
	exec $(VENV)/bin/gunicorn config.wsgi:application \
		--bind "$${HOST:-0.0.0.0}:$(PORT)" \
		--workers "$${WEB_CONCURRENCY:-5}" \
		--max-requests 2000 --max-requests-jitter 200 \
		--graceful-timeout 20 \
		--log-level info

# The task worker: runs queued background tasks (customer notifications) until stopped. Production
# runs it beside `make serve`, with the same environment.
worker: $(VENV)/.installed
	exec $(VENV_PY) manage.py db_worker --queue-name default

test: $(VENV)/.installed-dev
	$(VENV_PY) -m pytest $(ARGS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Needs DATABASE_URL (or BENCH_DATABASE_URL) pointing at PostgreSQL; see README, "Benchmarks".
bench: $(VENV)/.installed-bench
	$(VENV_PY) -m bench $(ARGS)
