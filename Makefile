# The README's whole set-up: `make dev` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: dev test unit clean-data chaos bench

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

dev: $(STAMP)
	$(BIN)/bunker dev

test: $(STAMP)
	$(BIN)/python -m pytest

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

clean-data:
	rm -rf .data

# Faults survived, nothing lost: worker killed, Temporal restarted, PostgreSQL down 30 s, gateway
# restarted, each while lifecycles run (tests/chaos, not collected by `make test`; about 8-11 minutes).
chaos: $(STAMP)
	$(BIN)/python -m pytest tests/chaos -p no:cacheprovider

# Benchmarks against references measured in the same run; writes bench/results.md (see bench/__main__.py).
bench: $(STAMP)
	$(BIN)/python -m bench
