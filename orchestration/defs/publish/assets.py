"""Published outputs: the read-only marts file and the report site.

Declarations only; the work is in orchestration/publish (plain Python that
tests call directly).
"""

import dagster as dg

from orchestration.defs.warehouse.assets import dbt_marts
from orchestration.partitions import DUCKDB_WRITER_POOL
from orchestration.publish.publish import publish_marts
from orchestration.publish.report_build import build_report_site
from orchestration.resources import WarehouseResource
from orchestration.table_metadata import ROW_COUNT_KEY

PUBLISHED_MARTS = dg.AssetKey(["published", "agentledger_duckdb"])
REPORT_SITE = dg.AssetKey(["reports", "site"])
# Where `agentledger serve-report` (`make serve-report`) serves the built site by default.
REPORT_SITE_URL = "http://127.0.0.1:3001/"


def _upstream_keys() -> list[dg.AssetKey]:
    """Every dbt mart, plus the signals tables when their assets are declared."""
    keys = list(dbt_marts.keys)
    try:
        from orchestration.defs import signals  # declared by the signals domain

        for assets_def in signals.defs.assets or []:
            keys.extend(getattr(assets_def, "keys", []))
    except ImportError:
        pass
    return keys


@dg.asset(
    key=PUBLISHED_MARTS,
    deps=_upstream_keys(),
    group_name="publish",
    kinds={"duckdb"},
    owners=["team:data-platform"],
    # Reads the working file: it must not overlap a writer (DuckDB's single-writer lock).
    pool=DUCKDB_WRITER_POOL,
    description="Read-only copy of marts, signals, reference and ingestion-quality tables, swapped in atomically.",
)
def published_marts(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    result = publish_marts(warehouse.settings())
    context.log.info(f"published {len(result.tables)} tables to {result.path}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.path)),
            ROW_COUNT_KEY: result.total_rows,
            "tables_published": len(result.tables),
            "rows_published": result.total_rows,
            "rows_by_table": dg.MetadataValue.json(result.tables),
            "duration_s": round(result.duration_s, 2),
        }
    )


@dg.asset(
    key=REPORT_SITE,
    deps=[PUBLISHED_MARTS],
    group_name="reports",
    kinds={"evidence"},
    owners=["team:data-platform"],
    description=(
        "Static Evidence report site in <data dir>/published/site, built from the published file and swapped "
        f"in whole; `agentledger serve-report` serves it on {REPORT_SITE_URL} (the site_url of each build)."
    ),
)
def report_site(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    result = build_report_site(warehouse.settings())
    return dg.MaterializeResult(
        metadata={
            "site_url": dg.MetadataValue.url(REPORT_SITE_URL),
            "index_html": dg.MetadataValue.path(str(result.build_dir / "index.html")),
            "build_dir": dg.MetadataValue.path(str(result.build_dir)),
            "pages_built": result.pages_count,
            "pages": dg.MetadataValue.json(result.pages_built),
            "source_rows": dg.MetadataValue.json(result.source_rows),
            "duration_s": round(result.duration_s, 1),
        }
    )


defs = dg.Definitions(assets=[published_marts, report_site])
