# Two commands work on a fresh clone: `make demo` and `make test`.
# Both create (or reuse) the project virtualenv and install mmista into it
# with the exact versions of the lock file, the ones the test suite passed
# with. `make lock` re-resolves the stack, tests it and rewrites the lock.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
LOCK := requirements/lock.txt
HOLDS := requirements/holds.txt
STAMP := $(VENV)/.mmista-installed
LOCK_VENV ?= .venv-lock
DEMO_CONFIG ?= configs/ista/onestage_digits.py
DEMO_WORK_DIR ?= work_dirs/demo
PYTEST_ARGS ?=

.PHONY: demo test test-kernels install lock clean

install: $(STAMP)

$(STAMP): setup.cfg setup.py pyproject.toml $(LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade -c $(LOCK) pip
	$(PY) -m pip install -c $(LOCK) -e '.[tests]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_WORK_DIR)

test: $(STAMP)
	$(PY) -m pytest tests $(PYTEST_ARGS)

# The numerics-sensitive tests again, with older CPUs' kernels.
test-kernels: $(STAMP)
	PY=$(PY) bash .ci/test_kernels.sh $(PYTEST_ARGS)

# Newest versions setup.cfg allows (but the holds), in a scratch virtualenv;
# the lock is rewritten only if the whole suite and the kernel variants pass.
lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --upgrade pip
	$(LOCK_VENV)/bin/python -m pip install -c $(HOLDS) -e '.[tests]'
	$(LOCK_VENV)/bin/python -m pytest tests -p no:cacheprovider
	PY=$(LOCK_VENV)/bin/python bash .ci/test_kernels.sh
	{ \
	  echo '# Exact versions the mmista test suite passed with: a pip constraints file.'; \
	  echo '# `make demo`, `make test` and .ci/run install with it; `make lock` rewrites it.'; \
	  echo "# Resolved $$(date -u +%Y-%m-%d) on $$($(LOCK_VENV)/bin/python -c \
	    'import platform as p; print(p.python_implementation(), p.python_version(), p.system(), p.machine())')."; \
	  $(LOCK_VENV)/bin/python -m pip freeze --all --exclude-editable; \
	} > $(LOCK).new
	mv $(LOCK).new $(LOCK)
	rm -rf $(LOCK_VENV)
	@echo "Wrote $(LOCK); review it with git diff, then run make test."

clean:
	rm -rf $(DEMO_WORK_DIR) .pytest_cache
