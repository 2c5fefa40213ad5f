# Loan Portal. `make run` serves the demo on a bare machine; `make test` runs the whole suite.
# PostgreSQL is the only database and DATABASE_URL names it. When it is not set, `make run` and
# `make test` start an embedded PostgreSQL under var/pgdata and stop it when they end
# (bin/embedded_db.py), so a machine needs nothing but Python.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000
export PORT
# Arguments for pytest, e.g. `make test PYTEST_ARGS="reports -x"`.
PYTEST_ARGS ?=
# The suite runs on every core (pytest-xdist): `make test TEST_WORKERS=0` runs it in one process.
TEST_WORKERS ?= auto
# Runs the command that follows against DATABASE_URL, or the embedded PostgreSQL without it.
WITH_DB := $(PY) bin/embedded_db.py run --

.PHONY: run serve cluster cluster-serve test lint format messages makemessages static install clean bench load faults

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# Message catalogues are compiled from the committed .po files; the .mo files are build output.
# Without the settings (which need a database): compilemessages finds locale/ by itself.
messages: install
	env -u DJANGO_SETTINGS_MODULE $(VENV)/bin/django-admin compilemessages --verbosity 0 --ignore=.venv --ignore=var

# Refresh the .po files from the source (then translate the new entries and commit them).
makemessages: install
	env -u DJANGO_SETTINGS_MODULE $(VENV)/bin/django-admin makemessages --locale zh_Hans --no-obsolete --ignore=.venv --ignore=var --ignore=test-results

static: install
	$(WITH_DB) env DJANGO_SETTINGS_MODULE=loanportal.settings.test $(PY) manage.py collectstatic --noinput --verbosity 0

# Ctrl-C stops the web server, worker and beat (honcho), then the embedded PostgreSQL if it started one.
run: install messages
	$(WITH_DB) $(MAKE) --no-print-directory serve

# The demo against the DATABASE_URL server (`make run` provides one when it is not set).
serve:
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo "Loan Portal on http://127.0.0.1:$(PORT)/ (admin: /admin/). Ctrl-C stops the web server, worker and beat."
	$(VENV)/bin/honcho start --procfile Procfile.dev --port $(PORT)

# The production topology on one machine (Procfile.cluster; README, "Running it in production"):
# two gunicorn web processes (ports 8001 and 8002), a Celery worker per queue, one beat. Needs a
# Redis server (REDIS_URL: broker and shared cache); DATABASE_URL, or the embedded PostgreSQL.
cluster: install messages static
	@test -n "$$REDIS_URL" || { echo "make cluster needs REDIS_URL=redis://… (the broker and the shared cache of every process)"; exit 2; }
	$(WITH_DB) $(MAKE) --no-print-directory cluster-serve

cluster-serve:
	$(PY) manage.py migrate --noinput
	DEBUG=true $(PY) manage.py seed_demo
	@echo "Loan Portal on http://127.0.0.1:$${CLUSTER_WEB1_PORT:-8001}/ and :$${CLUSTER_WEB2_PORT:-8002}/ (docs/nginx.conf puts a proxy in front). Ctrl-C stops every process."
	$(VENV)/bin/honcho start --procfile Procfile.cluster

test: install messages static
	$(WITH_DB) $(VENV)/bin/pytest --numprocesses $(TEST_WORKERS) $(PYTEST_ARGS)

# ruff (lint, format), the layers (import-linter), types of the services and selectors (mypy with
# django-stubs; its plugin loads the settings, which need a DATABASE_URL it never connects to) and
# the templates (djLint). .pre-commit-config.yaml runs the same.
TEMPLATES := templates $(wildcard */templates)
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	DATABASE_URL=postgres://typecheck@127.0.0.1:5432/unused $(VENV)/bin/mypy
	$(VENV)/bin/djlint --check $(TEMPLATES)
	$(VENV)/bin/djlint --lint $(TEMPLATES)

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Performance benchmark on PostgreSQL (127.0.0.1:5432, user postgres; BENCH_DATABASE_URL to change):
# seeds 1,000,000 applications once, then measures pages, report and sweep; see bench/README.md.
bench: install messages
	command -v wrk >/dev/null 2>&1 || apt-get install -y wrk || (apt-get update && apt-get install -y wrk)
	$(PY) -m bench.run

# Mixed load (locust) on the cluster topology, then the invariants (bench/README.md, "make load"):
# LOAD_DATABASE_URL (the bench database), LOAD_MINUTES (10), LOAD_USERS (40); writes bench/load.md.
load: install messages static
	command -v redis-server >/dev/null 2>&1 || apt-get install -y redis-server || (apt-get update && apt-get install -y redis-server)
	$(PY) -m bench.traffic.run

# Faults under load (README, "Faults under load"; bench/README.md, "make faults"): make load's topology
# and users on a 2,000-file book, with PostgreSQL (5441) and Redis (6392) servers of its own that it
# starts, stops, hangs and restarts; the machine's servers are never touched. About 13 minutes;
# writes bench/faults.md and exits non-zero when a promise is broken.
faults: install messages static
	command -v redis-server >/dev/null 2>&1 || apt-get install -y redis-server || (apt-get update && apt-get install -y redis-server)
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || apt-get install -y postgresql || (apt-get update && apt-get install -y postgresql)
	$(PY) -m bench.traffic.faults

# The embedded PostgreSQL is stopped before its data goes.
clean:
	if [ -d var/pgdata ]; then $(PY) bin/embedded_db.py stop; fi
	rm -rf $(VENV) var
