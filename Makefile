# Two commands on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
DEMO_CONFIG ?= config.demo.toml
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/test

.PHONY: run test lint venv chromium clean bench

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(TEST_STAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[test]'
	touch $@

venv: $(STAMP)

# Debian's Chromium for the browser test; Playwright's own browser download
# does not work on a closed network, so the test points it at /usr/bin/chromium.
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo "installing Debian chromium for the browser test"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

# `PORT=8090 make run` when 8080 is taken (serve says so in one line if it is).
run: $(STAMP)
	WECRM_CONFIG=$(DEMO_CONFIG) $(BIN)/wecrm migrate
	WECRM_CONFIG=$(DEMO_CONFIG) $(BIN)/wecrm seed --if-empty
	WECRM_CONFIG=$(DEMO_CONFIG) $(BIN)/wecrm serve$(if $(PORT), --port $(PORT))

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# PostgreSQL runs too when the local server answers; pytest's exit code 5
# ("no tests collected") is a failure like any other non-zero code.
test: $(TEST_STAMP) chromium lint
	@if [ -z "$$WECRM_TEST_DATABASE_URL" ] && $(BIN)/python -c "import socket; socket.create_connection(('127.0.0.1', 5432), 2)" 2>/dev/null; then \
		export WECRM_TEST_DATABASE_URL=$(PG_TEST_URL); \
	fi; \
	echo "PostgreSQL tests: $${WECRM_TEST_DATABASE_URL:-off}"; \
	$(BIN)/python -m pytest -q -p no:cacheprovider; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

bench: $(STAMP)
	$(BIN)/python bench/load.py

clean:
	rm -rf $(VENV) wecrm-demo.sqlite3*
