"""How the pipeline invokes dbt: the build flags and the partition window's variables.

Kept apart from the asset definitions (which read the manifest on import) so
that scripts such as the dbt benchmark run dbt exactly as the pipeline does.
"""

# Tests that also read models outside a set (e.g. a mart reconciling to the
# fact) run with the set that builds their last parent, not before it exists.
CAUTIOUS_TESTS = ["--indirect-selection", "cautious"]
# Unit tests are for development and CI (`make test` runs them), not every production run.
PRODUCTION_BUILD = ["--exclude-resource-type", "unit_test", *CAUTIOUS_TESTS]

# The run's window reaches dbt in these environment variables, not as
# `--vars`: dbt re-parses the whole project whenever --vars differ from its
# last parse (seconds per invocation, every day), while a variable read only
# at execution leaves partial parsing alone (dbt_project/macros/partition_window.sql).
WINDOW_ENV = ("AGENTLEDGER_WINDOW_MIN_DATE", "AGENTLEDGER_WINDOW_MAX_DATE")
