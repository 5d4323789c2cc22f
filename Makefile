# DAGR — the two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
PG_URL ?= postgres://postgres@127.0.0.1:5432/dagr
DEMO_PERSONS ?= 2000

.PHONY: run test lint deps-graph format install install-dev venv messages migrate demo serve test-sqlite test-postgres \
        test-browser system-deps browser-deps clean bench-demo bench-lookup bench-lookup-cpu bench-lookup-batch-cpu bench-lookup-get-ab bench-load bench-sync \
        bench-audit bench-newsletter bench-anon bench-dashboard bench-dcat bench-connector bench-search

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The application alone for `make run`; the test tools on top for `make test`. The agent
# distribution (agent/: `dagr sync`, `dagr connector run`) first, then the server, whose `dagr`
# command (installed last) delegates `sync` and `connector` to the agent's.
$(STAMP): $(BIN)/python pyproject.toml agent/pyproject.toml
	$(BIN)/pip install --quiet --disable-pip-version-check -e './agent[sftp]'
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(DEV_STAMP)

install: system-deps $(STAMP) messages

install-dev: install $(DEV_STAMP)

# gettext compiles the Latvian/English translations; apt-get only when it is missing.
system-deps:
	@command -v msgfmt >/dev/null || { echo "Installing gettext (apt-get)…"; \
	  (apt-get update -qq && apt-get install -y -qq gettext) >/dev/null; }

browser-deps:
	@test -x /usr/bin/chromium || { echo "Installing Debian chromium (apt-get)…"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null; }

messages: $(STAMP)
	@$(BIN)/dagr compilemessages --ignore '.venv' -v 0

migrate: install
	$(BIN)/dagr migrate --noinput -v 0

demo: migrate
	$(BIN)/dagr demo --persons $(DEMO_PERSONS)

run: demo
	$(BIN)/dagr serve

test: install-dev browser-deps lint test-sqlite test-postgres

test-sqlite: install-dev
	@echo "== test suite on SQLite"
	$(BIN)/pytest -p no:cacheprovider

test-postgres: install-dev
	@echo "== test suite on PostgreSQL ($(PG_URL))"
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(PG_URL)'.rsplit('/',1)[0]+'/postgres', connect_timeout=3).close()" 2>/dev/null; then \
	  DATABASE_URL=$(PG_URL) $(BIN)/pytest -p no:cacheprovider -m "not browser"; \
	elif [ "$$CI" = "true" ]; then echo "PostgreSQL is not reachable at $(PG_URL) and CI=true: failing."; exit 1; \
	else echo "SKIPPED: PostgreSQL is not reachable at $(PG_URL); the suite ran on SQLite only."; fi

# ruff, then the dependency order of the apps (import-linter contracts in pyproject.toml) and
# the generated picture of it (docs/app-dependencies.md) compared with the code.
lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/python scripts/app_graph.py --check
	$(BIN)/mypy

deps-graph: $(DEV_STAMP)
	$(BIN)/python scripts/app_graph.py

format: $(DEV_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench-demo: migrate
	$(BIN)/python bench/demo_generate.py

# Load throughput: BENCH_N demo persons (default 1,000,000) from a CSV file through the loading
# service, then as NDJSON over HTTP through `dagr serve` (bench/load_http.py), on SQLite and on
# PostgreSQL (scratch databases on BENCH_PG); ends with a RESULT line.
bench-load: install
	BENCH_N=$${BENCH_N:-1000000} $(BIN)/python bench/load.py

# Retrieval speed: BENCH_PERSONS (default 1000000), BENCH_SECONDS per run (default 15).
bench-lookup: install
	@command -v wrk >/dev/null || { echo "Installing wrk (apt-get)…"; \
	  (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null; }
	$(BIN)/python bench/lookup.py

# CPU µs per GET-by-identifier in-process (DAGR's WSGI application and the floor server called
# directly; BENCH_PROFILE=1 adds a cProfile); same data as bench-lookup; ends with a RESULT line.
bench-lookup-cpu: install
	$(BIN)/python bench/lookup_cpu.py

# CPU per batch lookup (1,000 ids) in-process, the code before it was made fast and each change
# in turn, interleaved in one process (docs/performance.md, "Batch lookup"); ends with a RESULT line.
bench-lookup-batch-cpu: install
	$(BIN)/python bench/lookup_batch_cpu.py

# CPU per GET-by-identifier in-process, the changes of docs/performance.md ("GET-by-identifier:
# CPU per request") each patched back, interleaved in one process; ends with a RESULT line.
bench-lookup-get-ab: install
	$(BIN)/python bench/lookup_get_ab.py

# Initial sync of BENCH_PERSONS (default 1000000) demo persons through the HTTP change feed and
# `dagr sync` into PostgreSQL; ends with a RESULT line.
bench-sync: install
	$(BIN)/python bench/sync.py

# Audit verification speed: BENCH_AUDIT_N (default 10,000,000) chained access entries on SQLite
# and PostgreSQL (scratch database on BENCH_PG), full and incremental; ends with a RESULT line.
bench-audit: install
	BENCH_AUDIT_N=$${BENCH_AUDIT_N:-10000000} $(BIN)/python bench/audit_verify.py

# The statistics pages and API over BENCH_DASH_N (default 10,000,000) access entries spread over
# 13 months, through `dagr serve`; ends with a `RESULT dashboard p95_ms=… rollup_lag_s=…` line.
bench-dashboard: install
	BENCH_DASH_N=$${BENCH_DASH_N:-10000000} $(BIN)/python bench/dashboard.py

# Newsletter sending: BENCH_NEWSLETTER_USERS (default 10,000) users, one newsletter through the
# worker's code path to a local aiosmtpd sink; a table and a RESULT line with messages/s.
bench-newsletter: install
	$(BIN)/python bench/newsletter.py

# Help search speed: BENCH_SEARCH_ARTICLES generated articles (default 10,000), p95 over many
# Latvian/English queries through knowledge.selectors.search (DATABASE_URL: a fresh database).
bench-search: install-dev
	$(BIN)/python bench/search.py

# Anonymisation speed: BENCH_ANON_N demo persons (default 1,000,000; companies N/10, addresses
# N/2) loaded into a scratch SQLite database, then one release of the three registers read from
# it and written as NDJSON; ends with a RESULT line.
bench-anon: install
	BENCH_ANON_N=$${BENCH_ANON_N:-100000,1000000} $(BIN)/python bench/anon.py

# DCAT-AP catalogue (issue #18): BENCH_DCAT_N (default 1,000) described datasets; the catalogue
# page (100 datasets) and the full SHACL validation; a table and RESULT dcat catalog_ms=… validate_s=….
bench-dcat: install
	BENCH_DCAT_N=$${BENCH_DCAT_N:-1000} $(BIN)/python bench/dcat.py

# Connector throughput and memory: BENCH_N rows (default 1,000,000) from a PostgreSQL table and
# a MariaDB table: the sql source alone, hosted runs and remote runs (`dagr connector run`);
# a table and a `RESULT connector records_per_s=… peak_rss_mb=…` line (bench/connector.py).
bench-connector: install
	BENCH_N=$${BENCH_N:-1000000} $(BIN)/python bench/connector.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
