"""What the wheel brings onto an EMR cluster: no PySpark of its own beside the cluster's."""

from importlib.metadata import requires

from packaging.requirements import Requirement


def test_pyspark_is_only_an_extra_of_the_package():
    requirements = [Requirement(line) for line in requires("snuk_assets") or []]
    # Installed without extras (install_snuk.sh), nothing may pull in pyspark or py4j.
    hard = {r.name.lower() for r in requirements if r.marker is None}
    assert not hard & {"pyspark", "py4j", "dagster-pyspark", "dagster-spark"}, hard
    spark = [r for r in requirements if r.name == "pyspark"]
    assert [r.marker.evaluate({"extra": "spark"}) for r in spark] == [True]
    # The extra admits the Spark of every EMR 7 release (3.5.x) and the 4.x line.
    assert spark[0].specifier.contains("3.5.0") and spark[0].specifier.contains("4.3.0")
