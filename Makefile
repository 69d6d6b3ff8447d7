# slowmem: two commands do everything.
#   make book   create .venv if absent, install, execute every chapter, render HTML to book/_build/html
#   make test   same set-up, lint (ruff), the layering contract (lint-imports) and the fast tests (not `slow`)
#   make test-all   the same with every test, the slow ones too (chapter runs, Dask clusters, the wheel): CI runs it
#   make book-check   after `make book`: every built page in headless Chromium (tests/browser/check_book.py)
#   make student  same set-up, build the student edition (stubs, no solutions) into build/student
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.slowmem-installed
export PATH := $(BIN):$(PATH)


.PHONY: book test test-all setup clean benchmark mathjax book-check book-check-strict student

# MathJax 3 for offline pages: the npm package, checked against its hash, unpacked into the
# git-ignored book/_vendor/mathjax (the book's Sphinx extension copies it into the built site).
MATHJAX_VERSION := 3.2.2
MATHJAX_SHA256  := 1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09
MATHJAX_TMP     := book/_vendor/.npm
MATHJAX         := book/_vendor/mathjax/tex-mml-chtml.js

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip >/dev/null
	$(BIN)/python -m pip install -e ".[book,dist,dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	# The kernel logs "running over TCP without encryption" at WARNING on every start (the book's runs,
	# `slowmem chapter`): the kernel talks to its own process on 127.0.0.1 only, so its log starts at ERROR.
	$(BIN)/python -m slowmem.book.kernel
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -m "not slow"

test-all: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

book: $(STAMP) $(MATHJAX)
	$(BIN)/jupyter-book build book -W --keep-going

# Pages of 8,000 px or more at 1280 px are reported, not failed, until every page is under the limit
# (issue 27: chapters 2-8 and Methods are not yet); `make book-check-strict` fails on them.
book-check: $(STAMP)
	$(BIN)/python tests/browser/check_book.py book/_build/html --height report

book-check-strict: $(STAMP)
	$(BIN)/python tests/browser/check_book.py book/_build/html

mathjax: $(MATHJAX)

$(MATHJAX):
	rm -rf book/_vendor && mkdir -p $(MATHJAX_TMP) book/_vendor/mathjax/output
	cd $(MATHJAX_TMP) && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null
	echo "$(MATHJAX_SHA256)  $(MATHJAX_TMP)/mathjax-$(MATHJAX_VERSION).tgz" | sha256sum --check --quiet -
	tar -xzf $(MATHJAX_TMP)/mathjax-$(MATHJAX_VERSION).tgz -C $(MATHJAX_TMP)
	cd $(MATHJAX_TMP)/package/es5 && cp -r tex-mml-chtml.js core.js loader.js startup.js input a11y ui adaptors sre \
		$(CURDIR)/book/_vendor/mathjax/ && cp -r output/chtml output/chtml.js $(CURDIR)/book/_vendor/mathjax/output/
	cp $(MATHJAX_TMP)/package/LICENSE book/_vendor/mathjax/LICENSE
	rm -rf $(MATHJAX_TMP)

student: $(STAMP) $(MATHJAX)
	$(BIN)/python -m slowmem.book.coursework student --out build/student

benchmark: $(STAMP)
	$(BIN)/python benchmarks/throughput.py

clean:
	rm -rf book/_build book/_vendor build/student
