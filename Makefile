# slowmem: two commands do everything.
#   make book   create .venv if absent, install, execute every chapter, render HTML to book/_build/html
#   make test   same set-up, lint (ruff) and run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.slowmem-installed
export PATH := $(BIN):$(PATH)


.PHONY: book test setup clean benchmark

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip >/dev/null
	$(BIN)/python -m pip install -e ".[book,dist,dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

book: $(STAMP)
	$(BIN)/jupyter-book build book -W --keep-going

benchmark: $(STAMP)
	$(BIN)/python benchmarks/throughput.py

clean:
	rm -rf book/_build
