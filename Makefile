# slowmem: two commands do everything.
#   make book   create .venv if absent, install, execute every chapter, render HTML to book/_build/html
#   make test   same set-up, run the test suite
#   make student  same set-up, build the student edition (stubs, no solutions) into build/student
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.slowmem-installed
export PATH := $(BIN):$(PATH)


.PHONY: book test setup clean benchmark student

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip >/dev/null
	$(BIN)/python -m pip install -e ".[book,dist,dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

book: $(STAMP)
	$(BIN)/jupyter-book build book -W --keep-going

student: $(STAMP)
	$(BIN)/python -m slowmem.coursework student --out build/student

benchmark: $(STAMP)
	$(BIN)/python benchmarks/throughput.py

clean:
	rm -rf book/_build build/student
