# FreeMarket: `make run` starts the service on the embedded default; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# nginx, certbot and friends live in sbin, which a non-login shell may leave off PATH.
export PATH := $(PATH):/usr/local/sbin:/usr/sbin:/sbin

.PHONY: install run test lint test-tools frontend clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)  ## Create the virtualenv and install FreeMarket with its test tools.

frontend:  ## Build the web UI into frontend/dist (skipped when up to date).
	@bash scripts/build-frontend.sh

run: install frontend  ## Migrate, load demo data, and start everything on SQLite.
	$(BIN)/freemarket migrate
	$(BIN)/freemarket demo
	$(BIN)/freemarket up

test-tools:  ## Install the system tools the tests drive for real (idempotent).
	@bash scripts/install-test-tools.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install test-tools lint frontend  ## Install what is needed and run the whole suite.
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
