# One command to set up and run the demo, one to set up and pass the tests.
# Windows PowerShell and conda equivalents are in README.md.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.folio-installed

.PHONY: setup demo test lint lab bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/folio demo

lint: $(STAMP)
	$(BIN)/ruff check lib tests benchmarks data

test: $(STAMP) lint
	$(BIN)/python -m pytest
	$(BIN)/python -m pytest --nbval notebooks --nbval-sanitize-with notebooks/sanitize.cfg -p no:cacheprovider

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

# Figures, not pass/fail tests. FOLIO_TEST_REDIS_URL / FOLIO_TEST_DATABASE_URL add
# the Redis and PostgreSQL measurements.
bench: $(STAMP)
	@for b in benchmarks/bench_roundtrip.py benchmarks/bench_analytics.py benchmarks/bench_excel.py \
			benchmarks/bench_tables.py benchmarks/import_bench.py benchmarks/bench_reference.py; do \
		echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
