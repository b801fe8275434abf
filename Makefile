# The README names these targets. `make run` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WEB_WORKERS ?= 1

.PHONY: run test install install-dev lint worker beat web bench clean

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q uv

$(VENV)/.installed: requirements.txt $(BIN)/uv
	$(BIN)/uv pip install -q -p $(BIN)/python -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/uv pip install -q -p $(BIN)/python -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## Run the service on embedded defaults: SQLite, in-process cache, local files,
## Celery worker + beat on a filesystem broker, gunicorn on $(HOST):$(PORT).
run: install
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py create_user demo
	@bash scripts/run_demo.sh $(BIN) $(HOST) $(PORT) $(WEB_WORKERS)

## Run the test suite (PostgreSQL/Redis tests run when DATABASE_URL/REDIS_URL are set),
## after the import-linter contracts (.importlinter): a dependency cycle fails it.
test: install-dev
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## Benchmark Nexus beside a bare Django baseline on loopback (PostgreSQL + Redis
## from DATABASE_URL/REDIS_URL, bench defaults otherwise); writes bench/results.json
## and docs/benchmarks.md. BENCH_QUICK=1 for a smoke run; knobs in docs/benchmarks.md.
bench: install-dev
	@command -v wrk >/dev/null || (apt-get install -y wrk || (apt-get update && apt-get install -y wrk))
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var
