# The two commands of the README: `make demo` and `make test`. Each sets up a virtual environment
# on a fresh machine first (a CPU build of torch when none is installed), then runs.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
STAMP := $(VENV)/.synthgen-installed

.PHONY: demo test lint setup clean browser

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/synthgen demo --output demo_output

# The report tests render the HTML report in a real browser: Debian's chromium, installed when
# missing (apt-get; sudo when not root).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
		echo "installing chromium (for the rendered-report tests)"; \
		SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The suite runs in one worker process per core, at most 4 (pytest-xdist): about 5.5 minutes
# on 2 cores instead of 11-14 in one process. Tests of one xdist_group (the Ray ones: one
# local Ray at a time) share a worker.
test: $(STAMP) browser
	$(VENV)/bin/ruff check synthgen tests benchmarks
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict  # (--quiet would hide the warnings that strict fails on)
	$(PY) -m pytest -q -n auto --maxprocesses 4 --dist loadgroup

clean:
	rm -rf $(VENV) demo_output .pytest_cache site
