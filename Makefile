# keraslearn: `make test` lints and runs the test suite (doctests included), `make demo` runs
# the example workflows.
# Both create a local virtual environment (.venv) on first use and install the project into it.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_OUT ?= demo_output
PYTEST_ARGS ?=

.PHONY: install test demo bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@# One TensorFlow build in the environment: on Linux x86-64 keraslearn asks for
	@# tensorflow-cpu, and a `tensorflow` (CUDA) build left by an earlier install
	@# provides the same module. Both go, and the CPU build is installed whole.
	@if [ "$$(uname -sm)" = "Linux x86_64" ] && $(PY) -m pip show tensorflow >/dev/null 2>&1; then \
		$(PY) -m pip uninstall --quiet --disable-pip-version-check -y tensorflow tensorflow-cpu; \
	fi
	@# Installed modules are byte-compiled here, once: where PYTHONDONTWRITEBYTECODE
	@# is set (as on CI machines), Python never writes them on import, and every
	@# test process would compile TensorFlow's modules again.
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(PY) -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

demo: $(STAMP)
	$(PY) examples/run_all.py --output $(DEMO_OUT)

bench: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[bench]'
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) $(DEMO_OUT) build dist src/*.egg-info .pytest_cache
