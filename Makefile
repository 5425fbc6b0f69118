# The two commands of the README: `make train` and `make test`. Each builds .venv first if needed,
# from the pinned versions in constraints.txt.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: train test lint bench clean

$(VENV)/installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,torch]'
	touch $@

train: $(VENV)/installed
	$(BIN)/python cli.py train

test: $(VENV)/installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

bench: $(VENV)/installed
	$(BIN)/python cli.py bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
