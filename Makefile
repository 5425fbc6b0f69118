# The two commands of the README. `make train` builds .venv with only what training on NumPy needs;
# `make test` adds everything else (ruff, pytest, torch, CuPy, mkdocs). Both install the pinned
# versions of constraints.txt; `pip install .` gives the same program as a `char-rnn` command.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: train test docs serve-docs bench notebooks clean

$(VENV)/base: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/installed: $(VENV)/base
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,torch,docs,cuda13]'
	touch $@

train: $(VENV)/base
	$(BIN)/python cli.py train

test: $(VENV)/installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

docs: $(VENV)/installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

serve-docs: $(VENV)/installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

bench: $(VENV)/installed
	$(BIN)/python cli.py bench

# The notebook track (docs/notebooks/): JupyterLab on the students' copies, each answer left to write.
$(VENV)/notebooks: $(VENV)/base
	$(BIN)/pip install --quiet -c constraints.txt -e '.[notebooks]'
	touch $@

notebooks: $(VENV)/notebooks  # the copies are committed: never rewritten here, over a student's work
	$(BIN)/jupyter lab docs/notebooks/students/

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info site
