# pipegauge: the two commands of the README are `make demo` and `make test`.
# Everything they need is installed here (virtual environments under .venv*/).

PYTHONS ?= 3.10 3.11 3.12 3.13
DEMO_PYTHON ?= $(firstword $(foreach v,3.12 3.13 3.11 3.10,$(shell scripts/find-python.sh $(v) 2>/dev/null)))
TOOLS_VENV := .venv-tools
PIP_FLAGS := --quiet --disable-pip-version-check

.PHONY: demo test test-python ctest fuzz bench tools clean

## Install pipegauge and profile the bundled example pipeline.
demo:
	@test -n "$(DEMO_PYTHON)" || { echo "make demo: no CPython 3.10-3.13 found" >&2; exit 1; }
	$(DEMO_PYTHON) -m venv .venv
	.venv/bin/pip install $(PIP_FLAGS) .
	.venv/bin/pipegauge run -o .pipegauge/demo examples/pipeline.py
	.venv/bin/pipegauge view .pipegauge/demo --limit 15
	.venv/bin/pipegauge view .pipegauge/demo --stages
	.venv/bin/pipegauge view .pipegauge/demo --findings
	@echo
	@echo "demo run directory: $$(pwd)/.pipegauge/demo"
	@echo "demo report (open in a browser): $$(pwd)/.pipegauge/demo/report.html"

## Install test dependencies and run the whole suite: engine unit tests under
## ASan/UBSan, the profile-reader fuzz target, and pytest on every Python.
test: ctest fuzz test-python

tools:
	@test -x $(TOOLS_VENV)/bin/meson || { \
	  $(DEMO_PYTHON) -m venv $(TOOLS_VENV) && \
	  $(TOOLS_VENV)/bin/pip install $(PIP_FLAGS) meson ninja; }

ctest: tools
	rm -rf build-ctest
	PATH=$(CURDIR)/$(TOOLS_VENV)/bin:$$PATH meson setup build-ctest -Dpython=false \
	  -Dengine_tests=true -Db_sanitize=address,undefined -Db_lundef=false \
	  -Db_lto=false -Dbuildtype=debug -Dwerror=true >/dev/null
	PATH=$(CURDIR)/$(TOOLS_VENV)/bin:$$PATH meson test -C build-ctest --print-errorlogs

fuzz: tools
	PATH=$(CURDIR)/$(TOOLS_VENV)/bin:$$PATH FUZZ_SECONDS=$${FUZZ_SECONDS:-30} bash fuzz/run.sh

test-python:
	@set -e; for v in $(PYTHONS); do \
	  py=$$(scripts/find-python.sh $$v) || { echo "make test: CPython $$v not found" >&2; exit 1; }; \
	  echo "=== pytest on CPython $$v ($$py)"; \
	  $$py -m venv .venv-$$v; \
	  .venv-$$v/bin/pip install $(PIP_FLAGS) '.[test]'; \
	  (cd tests && ../.venv-$$v/bin/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)); \
	done

## Overhead benchmark (not a test): ratios against no profiler and peers.
bench:
	$(DEMO_PYTHON) bench/run.py $(BENCH_ARGS)

clean:
	rm -rf build build-* .venv .venv-* .pipegauge
