# Loan Portal. `make run` serves the demo on a bare machine; `make test` runs the whole suite.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000
export PORT

.PHONY: run test lint format messages makemessages static install clean bench

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# Message catalogues are compiled from the committed .po files; the .mo files are build output.
messages: install
	$(PY) manage.py compilemessages --verbosity 0 --ignore=.venv --ignore=var

# Refresh the .po files from the source (then translate the new entries and commit them).
makemessages: install
	$(PY) manage.py makemessages --locale zh_Hans --no-obsolete --ignore=.venv --ignore=var --ignore=test-results

static: install
	DJANGO_SETTINGS_MODULE=loanportal.settings.test $(PY) manage.py collectstatic --noinput --verbosity 0

run: install messages
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo "Loan Portal on http://127.0.0.1:$(PORT)/ (admin: /admin/). Ctrl-C stops the web server, worker and beat."
	$(VENV)/bin/honcho start --procfile Procfile.dev --port $(PORT)

test: install messages static
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Performance benchmark on PostgreSQL (127.0.0.1:5432, user postgres; BENCH_DATABASE_URL to change):
# seeds 1,000,000 applications once, then measures pages, report and sweep; see bench/README.md.
bench: install messages
	command -v wrk >/dev/null 2>&1 || apt-get install -y wrk || (apt-get update && apt-get install -y wrk)
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) var
