# The two commands of the README:
#   make demo   set up, simulate the reference office and materialize the whole pipeline
#   make test   set up and run the whole test suite (what .ci/run calls)
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
# A second environment with the PySpark of the default EMR release (3.5): the Spark and EMR
# tests run there too (constraints/spark35.txt).
VENV35 := .venv-spark35
BIN35  := $(VENV35)/bin
SPARK_TESTS := tests/spark tests/emr
export DAGSTER_HOME := $(CURDIR)/.dagster

.PHONY: demo test test-spark35 dev live install install-spark35 lint bench bench-engines bench-pipeline bench-portfolio mutation mutation-all clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall when the project's dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	@$(BIN)/pip list 2>/dev/null | grep -E '^(dagster|deltalake|pandas|pyarrow|pyspark) '
	@touch $@

install: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml

$(BIN35)/python:
	$(PYTHON) -m venv $(VENV35)
	$(BIN35)/pip install --quiet --upgrade pip

# The same versions as .venv but for pyspark and its py4j: the two runs differ in PySpark alone.
$(VENV35)/.installed: pyproject.toml constraints/spark35.txt $(VENV)/.installed | $(BIN35)/python
	$(BIN)/pip freeze --exclude-editable | grep -viE '^(pyspark|py4j)==' > $(VENV35)/same-as-venv.txt
	$(BIN35)/pip install --quiet -e '.[dev,spark]' --constraint constraints/spark35.txt \
	    --constraint $(VENV35)/same-as-venv.txt
	@$(BIN35)/pip list 2>/dev/null | grep -E '^(pandas|pyarrow|pyspark) '
	@touch $@

install-spark35: $(VENV35)/.installed $(DAGSTER_HOME)/dagster.yaml

# dagster.yaml is read only from $DAGSTER_HOME: link the project's copy there.
$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	ln -sf $(CURDIR)/dagster.yaml $@

demo: install
	$(BIN)/snuk demo

test: install install-spark35
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/pytest
	$(BIN35)/pytest $(SPARK_TESTS)

# The Spark engine, Delta I/O and spark-submit/Pipes tests on PySpark 3.5 alone.
test-spark35: install-spark35
	$(BIN35)/pytest $(SPARK_TESTS)

dev: install
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

# The live service on the simulated building replayed at 60 x real time (a bin every 5 s), with
# Debian's mosquitto on 127.0.0.1:1883; trains models first if the lakehouse has none. Browse
# http://127.0.0.1:8000/ (API docs at /docs) and sign in with the operator token printed the first
# time (kept in .snuk/api-tokens, mode 0600); Ctrl-C stops it.
live: install
	@test -f .snuk/api-tokens || $(BIN)/snuk token --role operator --name make-live --file .snuk/api-tokens
	SNUK_API_TOKENS_FILE=.snuk/api-tokens $(BIN)/snuk live --broker mqtt://127.0.0.1:1883 --http 127.0.0.1:8000 --start-broker \
		--replay --speed 60 --start 2016-07-06 --days 1 --seed 42

lint: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The resampling benchmark at full scale (about a minute, most of it generating the building).
bench: install
	$(BIN)/python benchmarks/resample_benchmark.py --sensors 243 --days 90 --source simulator --baseline-sensors 0

# Raw files to forecasts, the full building over 90 days: wall time and peak memory per stage,
# and Tempo on Spark local[2] beside the resampling stage (the [tempo] extra, installed here).
bench-pipeline: install
	$(BIN)/pip install --quiet -e '.[tempo]'
	$(BIN)/python benchmarks/pipeline_benchmark.py --days 90 --tempo

# A portfolio (issue 22): 1, 10 and 100 simulated buildings, a week each, through the pipeline on
# the local engine and on Spark local[2]: wall time and peak memory per stage, and their growth.
# Hours, not minutes: one building takes 3-7 minutes on 2 cores, so 100 take 100 times that.
bench-portfolio: install
	$(BIN)/python benchmarks/portfolio_benchmark.py --buildings 1 10 100 --days 7

# LocalEngine against SparkEngine (local[2]): 30 days at 1, 2 and 4 copies of the building, then
# the building alone over 90 days (about 35 minutes on 2 cores; the local engine peaks at 10 GiB).
bench-engines: install
	$(BIN)/python benchmarks/engine_benchmark.py --days 30 --scales 1 2 4
	$(BIN)/python benchmarks/engine_benchmark.py --days 90 --scales 1 --workdir benchmarks/results/engine_scratch_90d

# Mutation testing of transforms/ (pyproject [tool.mutmut]; not part of make test, not in CI).
# Hypothesis runs its CI profile, so every mutant meets the same examples. `mutation` runs a
# seeded random sample of 500 mutants and prints the score with its 95 % interval (about 15
# minutes on 2 cores); `mutation-all` runs every mutant (about two hours). Results:
# benchmarks/README.md; `mutmut show NAME` prints one mutant.
mutation: install
	$(BIN)/pip install --quiet -e '.[dev,mutation]'
	rm -rf mutants
	HYPOTHESIS_PROFILE=ci $(BIN)/python benchmarks/mutation_sample.py --size 500 --seed 20261202

mutation-all: install
	$(BIN)/pip install --quiet -e '.[dev,mutation]'
	rm -rf mutants
	HYPOTHESIS_PROFILE=ci $(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut results  # the surviving mutants

clean:
	rm -rf data .dagster mutants
