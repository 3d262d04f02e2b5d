# Two entry points that work on a fresh machine with Python 3.11, git and the package registries:
#   make demo   install into .venv, then run the main job on the embedded default
#   make test   install into .venv, then run the whole test suite
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(BIN)/uv
UV_VERSION := 0.13.9
STAMP  := $(VENV)/.installed

.PHONY: install system-deps demo test test-fast fuzz bench lock docs clean

# The lock is complete (every package pinned with its hashes, resolved by `make lock` with
# overrides.txt), so it is installed as it is, without resolving again (--no-deps).
$(STAMP): requirements.lock pyproject.toml overrides.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(UV) pip install -q --python $(BIN)/python --require-hashes --no-deps -r requirements.lock
	$(UV) pip install -q --python $(BIN)/python --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

# Debian packages for the PDF report and the browser tests (installed only when missing).
system-deps:
	@sh scripts/system-deps.sh

demo: install system-deps
	$(BIN)/triangulate demo

# Where the environment forbids writing bytecode (PYTHONDONTWRITEBYTECODE, set on this project's
# machines), every process the tests start (each CLI command, xdist worker and Spark Python worker)
# compiles every module it imports again: 7.4 s for a refused publish, 3.1 s once bytecode is kept.
# The test run keeps it (in __pycache__ folders, which git ignores). --dist loadgroup keeps each module
# marked xdist_group on one worker, so its module fixture (a Spark link: 119 s) is built once, not twice
# (with pytest 9 only through tests/conftest.py's hook, which sets the group where pytest 9 reads it).
test: install system-deps
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -n 2 --dist loadgroup -q

# The input readers fuzzed longer than make test does (5,000 examples per property).
fuzz: install
	env -u PYTHONDONTWRITEBYTECODE TRIANGULATE_FUZZ_EXAMPLES=5000 $(BIN)/python -m pytest -n 2 -q -m fuzz

bench: install
	$(BIN)/python bench/ingest.py

docs: install
	$(BIN)/triangulate standard docs --out docs/data-standard.md
	$(BIN)/python -c "from triangulate.measures.docs import update_measures_doc; update_measures_doc('docs/measures.md')"

# Re-resolve the locked dependencies after editing pyproject.toml (needs the registry).
lock:
	@test -x $(UV) || (test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); $(BIN)/python -m pip install -q uv==$(UV_VERSION))
	$(UV) pip compile pyproject.toml --extra dev --extra spark --python-version 3.11 --generate-hashes --override overrides.txt -o requirements.lock

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info demo-output
