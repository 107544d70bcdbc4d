# Two commands, from a fresh clone:
#   make book   build the whole website into _build/html, executing every chapter
#   make test   run every test (unit tests, the fresh book build, the browser site test)
#   make test-colab  the chapters on Colab's own package versions (tools/colab_check.py)
#   make test-fast   the tests not marked slow (no book build, kernels or installs): minutes
#   make lint   ruff: lint and format check of the Python code
#   make bench  measure: recurrent layers vs torch.nn, every chapter, the book build (benchmarks/)
#   make experiments    rerun the long experiments whose results the chapters load
#                       (ONLY="name ..." for some; benchmarks/run_experiments.py --list)
#   make assignments    student notebooks of every chapter in _build/assignments
#   make grade CHAPTER=chapters/bptt.md SUBMISSIONS=folder/   grades into grades/
# Both create .venv and install what they need first.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
WEB    := _web/vendor
WHEELS := .cache/wheelhouse

.PHONY: book test test-colab test-fast lint bench experiments compare-units assignments grade install web-assets wheelhouse sync clean

book: install web-assets
	$(PY) tools/build_book.py

test: install web-assets wheelhouse
	$(PY) -m pytest

# Colab's own versions (colab/constraints.txt): pip changes none of them, every notebook
# runs alone in an empty folder, the explorers work on ipywidgets 7; report in
# test-artifacts/colab/report.md (tools/colab_check.py).
test-colab: install
	$(PY) tools/colab_check.py

# The quick loop while coding: every test not marked slow (see pyproject.toml's markers).
test-fast: install
	$(PY) -m pytest -m "not slow" -q

# Lint (pyflakes, pycodestyle, isort, bugbear, pyupgrade) and format check, configured in
# pyproject.toml; `.venv/bin/ruff check --fix . && .venv/bin/ruff format .` fixes most of it.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Measurements, not tests (about 25 minutes): the from-scratch layers against torch.nn,
# the numpy reference against autograd, every chapter, the fresh book build, against
# their budgets; writes benchmarks/results/benchmarks.md and .json.
bench: install web-assets
	$(PY) benchmarks/run_all.py

# The long experiments behind the chapters' claims (benchmarks/experiments/*.py): each
# writes src/helpers/results/<name>.json with its provenance, which the chapters load.
experiments: install
	$(PY) benchmarks/run_experiments.py $(ONLY)

# The experiment behind the chapter "Comparing the units" alone.
compare-units: install
	$(PY) benchmarks/run_experiments.py compare_units

# Student versions of every chapter (solutions removed, outputs cleared), for instructors.
assignments: install
	$(PY) -m helpers.course.assignments chapters/*.md --out _build/assignments

# Grade a folder of submitted notebooks of one chapter: grades/grades.csv and
# grades/feedback/*.md (OUT=... to write elsewhere). See the page "For instructors".
grade: install
	@test -n "$(CHAPTER)" -a -n "$(SUBMISSIONS)" || \
	  { echo "usage: make grade CHAPTER=chapters/bptt.md SUBMISSIONS=folder/ [OUT=grades]"; exit 2; }
	$(PY) -m helpers.course.grading $(CHAPTER) $(SUBMISSIONS) --out $(or $(OUT),grades) --jobs 2

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# MathJax, require.js and the ipywidgets embed script, served by the site itself
# (see html_extra_path, mathjax_path and nb_ipywidgets_js in _config.yml).
web-assets: $(WEB)/.copied

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund

$(WEB)/.copied: node_modules/.package-lock.json
	rm -rf $(WEB) && mkdir -p $(WEB)/requirejs $(WEB)/html-manager
	cp -r node_modules/mathjax/es5 $(WEB)/mathjax
	cp node_modules/mathjax/LICENSE $(WEB)/mathjax/
	cp node_modules/requirejs/require.js $(WEB)/requirejs/
	cp node_modules/@jupyter-widgets/html-manager/dist/embed-amd.js \
	   node_modules/@jupyter-widgets/html-manager/dist/*.woff* \
	   node_modules/@jupyter-widgets/html-manager/dist/*.ttf \
	   node_modules/@jupyter-widgets/html-manager/dist/*.eot \
	   node_modules/@jupyter-widgets/html-manager/dist/*.svg $(WEB)/html-manager/
	touch $@

# Wheels for tests/test_student_install.py, which installs helpers the way the
# Colab cell does into a clean venv, without touching the network during tests.
wheelhouse: $(WHEELS)/.downloaded

$(WHEELS)/.downloaded: requirements.txt pyproject.toml | $(STAMP)
	mkdir -p $(WHEELS)
	$(PY) -m pip download --quiet --dest $(WHEELS) setuptools wheel torch==2.13.0 \
	  $$($(PY) -m pip freeze | grep -iE '^(numpy|matplotlib|ipywidgets|tqdm|scipy|scikit-learn|joblib|threadpoolctl|names|english-words|pyphen|num2words|docopt|jiwer|click|rapidfuzz|jupytext|nbformat|nbclient|ipykernel)==')
	touch $@

# Regenerate each chapter's .ipynb twin (no outputs) from its .md source.
# After editing a chapter: every install cell from _config.yml's repository settings
# (tools/install_cell.py), then the .ipynb twins from the .md sources.
sync: install
	$(PY) tools/install_cell.py
	$(VENV)/bin/jupytext --update --to ipynb chapters/*.md instructors.md

clean:
	rm -rf _build _web test-artifacts
