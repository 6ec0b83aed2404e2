# FreeMarket: `make run` starts the service on the embedded default; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# `make run PORT=8001` when 8000 is taken; sign-in links follow the port (PUBLIC_URL).
HOST      ?= 127.0.0.1
PORT      ?= 8000
DEMO_USER ?= demo_anna
# nginx, certbot and friends live in sbin, which a non-login shell may leave off PATH.
export PATH := $(PATH):/usr/local/sbin:/usr/sbin:/sbin

# `freemarket up` explains any failure in one line (a busy port names the fix). A failed recipe
# makes make add "make: *** [Makefile:NN: run] Error 1" after it, and GNU make has no switch to
# drop that line while keeping the exit status; an interrupt is the one way out it reports
# silently, so the recipe ends make the way Ctrl-C would: quiet, with exit status 130.
# A make started in the background without job control (`nohup make run &`) inherits SIGINT
# ignored, so the kill would do nothing and make would report success: there (SigIgn has bit 2
# set in /proc) the recipe fails plainly instead, make's extra line and all.
# The shell outlives its kill by a second: make's SIGINT handler waits for its child, and when
# the child had already been reaped by then (it exited at once) that wait failed with "wait: No
# child processes" and make exited 2 (seen once under load in CI).
STOP_QUIETLY := if grep -Eq '^SigIgn:.*[2367abef]$$' /proc/$$PPID/status; then exit 1; \
	else kill -INT $$PPID; sleep 1; fi

.PHONY: install run test lint test-tools frontend clean freemarket screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)  ## Create the virtualenv and install FreeMarket with its test tools.

frontend: install  ## Write the UI's input limits, build the web UI into frontend/dist (when stale).
	@bash scripts/build-frontend.sh

run: install frontend  ## Migrate, load demo data, start everything on SQLite, print a sign-in link.
	$(BIN)/freemarket migrate
	$(BIN)/freemarket demo
	@PUBLIC_URL="$${PUBLIC_URL:-http://$(HOST):$(PORT)}" \
		$(BIN)/freemarket up --host $(HOST) --port $(PORT) --sign-in-link $(DEMO_USER) \
		|| { $(STOP_QUIETLY); }

freemarket: install  ## Run the CLI without activating the venv: make freemarket ARGS="user list".
	@$(BIN)/freemarket $(ARGS)

screenshots: install frontend  ## Refresh docs/screenshots from the browser journey.
	FREEMARKET_E2E_SCREENSHOT_DIR=$(CURDIR)/docs/screenshots $(BIN)/pytest tests/e2e/test_web_ui.py -q

test-tools:  ## Install the system tools the tests drive for real (idempotent).
	@bash scripts/install-test-tools.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install test-tools lint frontend  ## Install what is needed and run the whole suite.
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
