"""The user's org mapping file -> `reference_input.org_mapping`, the dbt source of `reference.org_mapping`."""

import dagster as dg

from orchestration.ingest.lake import export_reference_tables
from orchestration.partitions import DUCKDB_WRITER_POOL
from orchestration.reference import ORG_MAPPING_COLUMNS, load_org_mapping, org_mapping_path
from orchestration.resources import WarehouseResource
from orchestration.table_metadata import ROW_COUNT_KEY

ORG_MAPPING_INPUT = dg.AssetKey(["reference_input", "org_mapping"])
ORG_MAPPING_CHECK = "org_mapping_rows_valid"


@dg.asset(
    key=ORG_MAPPING_INPUT,
    group_name="warehouse",
    kinds={"duckdb", "python", "csv"},
    owners=["team:data-platform"],
    pool=DUCKDB_WRITER_POOL,
    check_specs=[
        dg.AssetCheckSpec(
            ORG_MAPPING_CHECK,
            asset=ORG_MAPPING_INPUT,
            description="Every row of <data dir>/reference/org_mapping.csv loaded (rejected rows are listed).",
        )
    ],
    description=(
        "The agent -> department, team, cost centre mapping from <data dir>/reference/org_mapping.csv "
        f"({', '.join(ORG_MAPPING_COLUMNS)}; example in docs/examples/org_mapping.example.csv). "
        "Empty without the file; rows with an empty agent_id or department, or a repeated agent_id, "
        "are left out and reported (file, line, field) without failing the run."
    ),
)
def org_mapping_input(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    settings = warehouse.settings()
    with warehouse.connect() as con:
        loaded = load_org_mapping(con, settings)
    if settings.is_spark:
        export_reference_tables(settings)
    for error in loaded.errors:
        context.log.warning(f"org mapping row rejected: {error}")
    if not loaded.present:
        context.log.info(f"no {org_mapping_path(settings)}: the org mapping is empty")
    errors = [str(e) for e in loaded.errors]
    yield dg.MaterializeResult(
        metadata={
            "path": str(loaded.path),
            "file_present": loaded.present,
            ROW_COUNT_KEY: len(loaded.rows),
            "rows_loaded": len(loaded.rows),
            "rows_rejected": len(errors),
            **({"rejected": dg.MetadataValue.md("\n".join(f"- {e}" for e in errors[:50]))} if errors else {}),
        }
    )
    yield dg.AssetCheckResult(
        check_name=ORG_MAPPING_CHECK,
        passed=not errors,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"rows_rejected": len(errors), **({"first_error": errors[0]} if errors else {})},
    )


defs = dg.Definitions(assets=[org_mapping_input])
