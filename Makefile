# Integration Hub. `make run` starts the hub; `make test` runs every check CI runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HUB_PORT ?= 8000
HUB_DATA_DIR ?= data
export HUB_PORT HUB_DATA_DIR

.PHONY: install install-test run test check migrations-check lint format bench requirements clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt $(VENV)/.installed
	$(BIN)/pip install -q -r requirements-test.txt
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/python manage.py ensure_admin
	@echo "Integration Hub on http://127.0.0.1:$(HUB_PORT)/ (admin: /admin/, API docs: /api/docs/). Ctrl-C stops it."
	mkdir -p $(HUB_DATA_DIR)
	$(BIN)/supervisord -c deploy/supervisord.conf

lint: install-test
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: install-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrations-check: install-test
	DJANGO_SETTINGS_MODULE=tests.settings $(BIN)/python manage.py makemigrations --check --dry-run

test: lint migrations-check
	bash scripts/install-browser.sh
	$(BIN)/python -m pytest

# The inner loop: lint, migrations and the tests that start no browser and no worker process.
check: lint migrations-check
	$(BIN)/python -m pytest -q -m "not browser and not worker"

bench: install-test
	bash bench/run.sh

requirements: | $(BIN)/python
	$(BIN)/pip install -q pip-tools
	$(BIN)/pip-compile -q --strip-extras --no-emit-index-url -o requirements.txt pyproject.toml
	$(BIN)/pip-compile -q --strip-extras --no-emit-index-url --extra test -o requirements-test.txt pyproject.toml

clean:
	rm -rf $(VENV) .pytest_cache
