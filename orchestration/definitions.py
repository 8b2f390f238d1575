"""AgentLedger's Dagster code location: assembles the domain definitions.

Each `orchestration/defs/<domain>` package declares its own assets, checks,
schedules and sensors; this module only merges them and binds the resources.
"""

from __future__ import annotations

import dagster as dg

from orchestration.defs import automation, generate, ingest, publish, signals, warehouse
from orchestration.resources import build_resources

defs = dg.Definitions.merge(
    generate.defs,
    ingest.defs,
    warehouse.defs,
    signals.defs,
    publish.defs,
    automation.defs,
    dg.Definitions(resources=build_resources()),
)
