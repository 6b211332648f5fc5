# Two commands do everything on a fresh machine with Python 3.11+:
#   make demo   - set up, migrate, seed demo data, serve on http://127.0.0.1:5000
#   make test   - set up and run the whole test suite
# The only thing installed outside the project is nothing: uv lives in .uv/, packages in .venv/.
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .uv/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never

.PHONY: demo test lint setup bench clean

$(UV):
	$(PYTHON) -m venv .uv
	.uv/bin/pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python "$$($(PYTHON) -c 'import sys; print(sys.executable)')"
	touch $@

setup: $(VENV)/.synced

demo: setup
	$(VENV)/bin/hourproof demo

test: setup
	$(VENV)/bin/python -m tests.setup_browser
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# ruff and mypy (strict on policies/ and recognition/, default on server/): CI runs this before the tests.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy policies recognition server

clean:
	rm -rf .uv $(VENV) .pytest_cache
