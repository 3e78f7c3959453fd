#!/usr/bin/env bash
# EMR bootstrap action: install SNUK and its dependencies into /opt/snuk/venv on every node.
#
# Usage (as a bootstrap action; it runs as the hadoop user before YARN starts):
#   install_snuk.sh s3://BUCKET/PATH/snuk_assets-0.1.0-py3-none-any.whl \
#     [s3://BUCKET/PATH/constraints.txt or ""] [s3://BUCKET/PATH/building.yaml] \
#     [s3://BUCKET/PATH/registries/]
#
# The building registry (resources/buildings/, not part of the wheel) is copied to
# /opt/snuk/building.yaml; the entry points read it with --registry /opt/snuk/building.yaml.
# A portfolio's registries folder (SNUK_REGISTRIES: one file per building) is copied to
# /opt/snuk/registries/, which the launcher's step settings name (EmrPipesLauncher.registries).
#
# Build the wheel with `.venv/bin/python -m pip wheel --no-deps -w dist .` and upload it and,
# for a reproducible install, `.venv/bin/python -m pip freeze --exclude-editable > constraints.txt`.
# spark-submit then runs the entry points with:
#   --conf spark.pyspark.python=/opt/snuk/venv/bin/python
#   --conf spark.pyspark.driver.python=/opt/snuk/venv/bin/python
set -euo pipefail

WHEEL_URI="${1:?usage: install_snuk.sh s3://.../snuk_assets-*.whl [s3://.../constraints.txt]}"
CONSTRAINTS_URI="${2:-}"
REGISTRY_URI="${3:-}"
REGISTRIES_URI="${4:-}"
VENV=/opt/snuk/venv
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# SNUK needs Python 3.11 (pyproject: requires-python); Amazon Linux 2023 (EMR 7) packages it.
if ! command -v python3.11 >/dev/null; then
  sudo dnf install -y python3.11 python3.11-pip
fi

sudo mkdir -p /opt/snuk
sudo chown "$(id -u):$(id -g)" /opt/snuk
python3.11 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip

aws s3 cp "$WHEEL_URI" "$WORK/"
PIP_ARGS=()
if [[ -n "$CONSTRAINTS_URI" ]]; then
  aws s3 cp "$CONSTRAINTS_URI" "$WORK/constraints.txt"
  PIP_ARGS+=(--constraint "$WORK/constraints.txt")
fi
# The wheel without extras: no pyspark of its own (the [spark] extra is for local runs). The
# steps run on the cluster's PySpark, which spark-submit puts on PYTHONPATH.
"$VENV/bin/python" -m pip install --quiet "${PIP_ARGS[@]}" "$WORK"/snuk_assets-*.whl
if "$VENV/bin/python" -c "import importlib.util, sys; sys.exit(not importlib.util.find_spec('pyspark'))"; then
  echo "error: $VENV has its own pyspark, which would fight the cluster's Spark" >&2
  exit 1
fi

if [[ -n "$REGISTRY_URI" ]]; then
  aws s3 cp "$REGISTRY_URI" /opt/snuk/building.yaml
fi
if [[ -n "$REGISTRIES_URI" ]]; then
  aws s3 cp --recursive "$REGISTRIES_URI" /opt/snuk/registries/
fi

# Fail the bootstrap (and so the cluster) now, not in the first task, if the install is broken.
"$VENV/bin/python" -c "import snuk_assets.emr.jobs, snuk_assets.emr.entry, deltalake, pyarrow, pandas"
echo "SNUK installed in $VENV"
