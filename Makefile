# The two commands of the README:
#   make demo   set up, simulate the reference office and materialize the whole pipeline
#   make test   set up and run the whole test suite (what .ci/run calls)
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
export DAGSTER_HOME := $(CURDIR)/.dagster

.PHONY: demo test dev live install lint bench bench-engines clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall when the project's dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	@$(BIN)/pip list 2>/dev/null | grep -E '^(dagster|deltalake|pandas|pyarrow) '
	@touch $@

install: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml

# dagster.yaml is read only from $DAGSTER_HOME: link the project's copy there.
$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	ln -sf $(CURDIR)/dagster.yaml $@

demo: install
	$(BIN)/snuk demo

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/pytest

dev: install
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

# The live service on the simulated building replayed at 60 x real time (a bin every 5 s), with
# Debian's mosquitto on 127.0.0.1:1883; trains models first if the lakehouse has none. Browse
# http://127.0.0.1:8000/ (API docs at /docs); Ctrl-C stops it.
live: install
	$(BIN)/snuk live --broker mqtt://127.0.0.1:1883 --http 127.0.0.1:8000 --start-broker \
		--replay --speed 60 --start 2016-07-06 --days 1 --seed 42

lint: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The resampling benchmark at full scale (about a minute, most of it generating the building).
bench: install
	$(BIN)/python benchmarks/resample_benchmark.py --sensors 215 --days 90 --source simulator --baseline-sensors 0

# LocalEngine against SparkEngine (local[2]): 30 days at 1, 2 and 4 copies of the building, then
# the building alone over 90 days (about 35 minutes on 2 cores; the local engine peaks at 10 GiB).
bench-engines: install
	$(BIN)/python benchmarks/engine_benchmark.py --days 30 --scales 1 2 4
	$(BIN)/python benchmarks/engine_benchmark.py --days 90 --scales 1 --workdir benchmarks/results/engine_scratch_90d

clean:
	rm -rf data .dagster
