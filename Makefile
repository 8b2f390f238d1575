# AgentLedger: the two commands are `make demo` and `make test`.
# Every target bootstraps what it needs, once; a second run reinstalls nothing.
# Development: `make test-fast` after each change, `make lint` before a commit,
# `make format` to apply the formatters' fixes.

SHELL := /bin/bash
PYTHON_BOOTSTRAP ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.8
DATA_DIR ?= $(CURDIR)/data
DAGSTER_PORT ?= 3000
REPORT_PORT ?= 3001
# Workers for `make test` (pytest-xdist); tests that share a build stay on one worker (tests/conftest.py).
TEST_WORKERS ?= 2

export AGENTLEDGER_DATA_DIR ?= $(DATA_DIR)
export DAGSTER_HOME := $(AGENTLEDGER_DATA_DIR)/dagster_home
export DAGSTER_DISABLE_TELEMETRY := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export PYTHONUNBUFFERED := 1
# dagster-dbt's dev-mode manifest refresh calls `dbt` from PATH.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

DBT_SOURCES := $(shell find dbt_project/models dbt_project/macros dbt_project/tests seeds -type f 2>/dev/null) dbt_project/dbt_project.yml
MANIFEST := dbt_project/target/manifest.json

.PHONY: demo test test-spark test-fast lint format dev receive setup setup-spark java prepare reports-deps browser postgres serve-report screenshots benchmarks refresh-prices reprice dbt-docs clean-data

## demo: set up, then generate 90 days of synthetic traces and run the whole pipeline through Dagster
demo: setup reports-deps
	$(VENV)/bin/agentledger demo

## test: set up, then run the full test suite (unit, graph, end-to-end, browser, Spark, the PostgreSQL comparison's
## check) on TEST_WORKERS pytest-xdist workers; CI runs it after `make lint`
test: setup reports-deps browser postgres setup-spark
	$(PY) -m pytest tests -q --durations=25 -n $(TEST_WORKERS) --dist loadgroup

## test-spark: the DuckDB-vs-Spark equivalence test alone (installs Java and the Spark engine first)
test-spark: setup setup-spark
	$(PY) -m pytest tests -q -m spark

## test-fast: the unit and Dagster graph tests only (not the slow end-to-end layer), for the inner loop
test-fast: setup
	$(PY) -m pytest tests -q -m "not slow"

# sqlfluff's dbt templater compiles every model, which opens the profile's
# database: an in-memory one, so linting never touches a warehouse file.
SQLFLUFF := cd dbt_project && AGENTLEDGER_WAREHOUSE=:memory: ../$(VENV)/bin/sqlfluff

## lint: check Python (ruff: lint rules and formatting) and the dbt models (sqlfluff); changes nothing
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(SQLFLUFF) lint models

## format: apply the automatic fixes of `make lint` (ruff's fixes and formatter, sqlfluff fix); what remains needs a hand edit
format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	$(SQLFLUFF) fix models

setup: $(VENV)/.installed prepare dagster-home

$(VENV)/.installed: requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON_BOOTSTRAP) -m venv $(VENV)
	@test -x $(VENV)/bin/uv || $(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(VENV)/bin/uv pip install --quiet --python $(PY) -r requirements.lock
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps -e .
	@touch $@

## setup-spark: the Spark engine (AGENTLEDGER_ENGINE=spark): Java 17 from Debian when missing, then dbt-spark and pyspark from requirements-spark.lock
setup-spark: setup java $(VENV)/.installed-spark
$(VENV)/.installed-spark: requirements-spark.lock $(VENV)/.installed
	$(VENV)/bin/uv pip install --quiet --python $(PY) -r requirements-spark.lock
	@touch $@

## java: a Java 17 runtime for Spark (Debian's openjdk-17-jre-headless)
java:
	@command -v java >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }

## prepare: write dbt's manifest, which the Dagster dbt assets read at import
prepare: $(MANIFEST)
$(MANIFEST): $(VENV)/.installed $(DBT_SOURCES)
	cd dbt_project && ../$(VENV)/bin/dbt parse --quiet --profiles-dir .
	@touch $@

dagster-home:
	@mkdir -p $(DAGSTER_HOME)
	@cmp -s dagster.yaml $(DAGSTER_HOME)/dagster.yaml || cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml

reports-deps: reports/node_modules/.installed
# The lock file's digest is also the stamp the report build checks (report_build.ensure_node_modules):
# without it the first site build would run `npm ci` again, which removes .installed, and so on.
reports/node_modules/.installed: reports/package-lock.json
	cd reports && npm ci --no-audit --no-fund --loglevel=error
	@sha256sum reports/package-lock.json | cut -d' ' -f1 > reports/node_modules/.agentledger-lock.sha256
	@touch $@

## browser: headless Chromium for the report tests and PDF export, poppler-utils to read the PDFs back (Debian packages)
browser:
	@{ command -v chromium && command -v pdftotext && command -v pdftoppm; } >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils >/dev/null; }

## postgres: PostgreSQL's server binaries (Debian's postgresql) for benchmarks/compare_postgres.py and its test; the benchmark starts its own throwaway server
postgres:
	@{ command -v initdb || ls /usr/lib/postgresql/*/bin/initdb; } >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

## dev: the Dagster UI on http://127.0.0.1:$(DAGSTER_PORT)
dev: setup
	$(VENV)/bin/agentledger ui --port $(DAGSTER_PORT)

## receive: the OTLP/HTTP receiver on http://127.0.0.1:4318 (point OTEL_EXPORTER_OTLP_ENDPOINT at it)
receive: setup
	$(VENV)/bin/agentledger receive

## serve-report: the built report site on http://127.0.0.1:$(REPORT_PORT)
serve-report: setup
	$(VENV)/bin/agentledger serve-report --port $(REPORT_PORT)

## screenshots: regenerate docs/screenshots from the built site
screenshots: setup browser
	$(PY) -m orchestration.publish.screenshots

## benchmarks: run every benchmark script and rewrite docs/benchmarks.md sections
benchmarks: setup postgres setup-spark
	for b in benchmarks/bench_*.py; do $(PY) -m benchmarks.$$(basename $$b .py) || exit 1; done

## refresh-prices: regenerate seeds/model_prices.csv from the installed genai-prices catalog
refresh-prices: setup
	$(PY) -m orchestration.pricing.price_seed

## reprice: after a price seed change, re-price history (see README)
reprice: setup
	$(VENV)/bin/agentledger reprice $(if $(START),--start $(START)) $(if $(END),--end $(END))

## dbt-docs: build dbt's documentation site and serve it on 127.0.0.1:8080
dbt-docs: setup
	cd dbt_project && ../$(VENV)/bin/dbt docs generate --profiles-dir . && ../$(VENV)/bin/dbt docs serve --profiles-dir . --host 127.0.0.1 --port 8080 --no-browser

clean-data:
	rm -rf $(AGENTLEDGER_DATA_DIR)
