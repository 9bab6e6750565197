# The two commands of the README: `make demo` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: demo test venv services lint unit bench rpm clean

demo: $(STAMP)
	$(BIN)/clusterwatch demo

# ruff, mypy --strict, then the whole suite against the real servers.
test: $(STAMP) services lint
	@$(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests: failing"; exit 1; fi; \
	exit $$rc

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

# Installs (when missing) the real servers the integration tests start: see tests/services/.
services:
	bash tests/services/install.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

bench: $(STAMP)
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# The RPM for EL monitoring hosts (see packaging/rpm/README.md); output in dist/rpm/.
rpm: $(STAMP)
	bash scripts/build-rpm.sh

clean:
	rm -rf $(VENV) dist build .mypy_cache .ruff_cache .pytest_cache
