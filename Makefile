# harmrank: the two commands a new analyst needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
AS_OF  ?= 2026-11-01
WORLD  ?= data/world
# LightGBM's OpenMP threads must not spin-wait: on a shared 2-core machine that is 10-20x slower.
export OMP_WAIT_POLICY ?= PASSIVE
export MLFLOW_DISABLE_TELEMETRY ?= true

.PHONY: demo test lint typecheck check install install-dev world browser postgres java clean lock wheelhouse

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Installs are pinned by constraints.txt (the lock file; `make lock` regenerates it).
$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

# The tests also need the scale-out extras: Spark's feature engine and LightGBM's Dask training.
$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,spark,dask]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

world: $(VENV)/.installed
	$(BIN)/harmrank synth --config configs/synthetic.yaml --out $(WORLD)

demo: world
	@# exit 3 (not for release) and 4 (not audited) still write the list: the demo goes on and says so
	$(BIN)/harmrank run --as-of $(AS_OF) --data $(WORLD) --config configs/default.yaml; \
	  code=$$?; [ $$code -eq 0 ] || [ $$code -eq 3 ] || [ $$code -eq 4 ] || exit $$code
	$(BIN)/python bench/synthetic_check.py --run runs/$(AS_OF) --world $(WORLD)
	$(BIN)/harmrank deaths --as-of $(AS_OF) --data $(WORLD) --config configs/default.yaml
	$(BIN)/harmrank users demo --config configs/default.yaml

# Headless Chromium for the page checks (Debian packages; needs root or sudo, once per machine).
browser:
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q chromium chromium-driver >/dev/null; }; }

# PostgreSQL server programs for the database tests (Debian package; needs root or sudo, once per machine).
# The tests start and stop their own throwaway server (tests/pgserver.py), never the system cluster.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y -q postgresql >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q postgresql >/dev/null; }; }

# A Java runtime for Spark's local mode in the tests (Debian package; needs root or sudo, once per machine).
java:
	@java -version >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y -q default-jre-headless >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q default-jre-headless >/dev/null; }; }

test: $(VENV)/.installed-dev browser postgres java
	$(BIN)/python -m pytest -n 2 --dist loadfile

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy with the pydantic plugin over features, models, fairness and scoring (settings in pyproject.toml).
typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

# Everything CI runs: lint, types, tests.
check: lint typecheck test

# The lock file: every installed package's version, from the dev environment.
lock: $(VENV)/.installed-dev
	{ sed -n '1,3p' constraints.txt; $(BIN)/pip freeze --all --exclude-editable | grep -v '^harmrank\|^pip==' | sort -f; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

# Wheels of harmrank and every dependency, pinned, for a force network without internet:
#   pip install --no-index --find-links wheelhouse -c wheelhouse/constraints.txt harmrank
wheelhouse: | $(BIN)/python
	$(BIN)/pip wheel --quiet --wheel-dir wheelhouse -c constraints.txt .
	$(BIN)/pip download --quiet --dest wheelhouse -c constraints.txt setuptools wheel setuptools-scm pip
	cp constraints.txt wheelhouse/

clean:
	rm -rf $(VENV) data runs .pytest_cache
