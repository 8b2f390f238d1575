"""The PostgreSQL comparison's own machinery, run for real on small data: the throwaway server starts,
answers and leaves nothing behind; the spans it receives, priced at query time, give the same totals
as the published marts; the limit estimate interpolates and extrapolates as documented."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from benchmarks import compare_postgres as cp


def test_throwaway_server_listens_locally_and_is_removed():
    with cp.throwaway_postgres() as server:
        root = server.root
        with psycopg.connect(server.conninfo()) as pg:
            assert pg.execute("show listen_addresses").fetchone()[0] == "127.0.0.1"
            assert pg.execute("select 1 + 1").fetchone()[0] == 2
        # the TCP listener answers too, on 127.0.0.1 only
        with psycopg.connect(f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres") as pg:
            assert pg.execute("select current_user").fetchone()[0] == "postgres"
    assert not root.exists()


def test_server_is_removed_when_the_body_fails():
    seen = {}

    def failing_body():
        with cp.throwaway_postgres() as server:
            seen["root"], seen["conninfo"] = server.root, server.conninfo()
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        failing_body()
    root, conninfo = seen["root"], seen["conninfo"]
    assert not root.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(conninfo, connect_timeout=2)


def test_volume_at_limit_interpolates_then_extrapolates():
    assert cp.volume_at_limit([(300, 900.0), (100, 100.0)]) == (200.0, "interpolated")
    calls, how = cp.volume_at_limit([(100, 100.0), (200, 300.0)])
    assert calls == pytest.approx(300.0) and how.startswith("extrapolated")
    calls, how = cp.volume_at_limit([(100, 600.0), (200, 1000.0)])
    assert calls == pytest.approx(75.0) and how.startswith("extrapolated linearly below")
    assert cp.volume_at_limit([(100, 900.0), (200, 1000.0)])[0] is None
    assert cp.volume_at_limit([(100, 900.0)])[0] is None


def test_percentile_is_nearest_rank():
    samples = [float(x) for x in range(1, 21)]
    assert cp.percentile(samples, 0.5) == 10.0
    assert cp.percentile(samples, 0.95) == 19.0
    assert cp.percentile([3.0, 1.0, 2.0], 0.95) == 3.0


@pytest.mark.slow
def test_postgres_prices_the_session_spans_like_the_marts(pipeline_warehouse, tmp_path):
    warehouse = cp.Warehouse(
        data_dir=pipeline_warehouse.data_dir,
        working=pipeline_warehouse.warehouse_path,
        published=pipeline_warehouse.published_path,
        calls=pipeline_warehouse.calls,
        spans=0,
        build_s=0.0,
    )
    params = cp.page_params(warehouse.published)
    with cp.throwaway_postgres() as server:
        cp.load_postgres(server, warehouse, Path(tmp_path) / "export")
        checks = cp.same_answers(warehouse.published, server.conninfo(), params)
        assert [c.label for c in checks if not c.equal] == []
        assert any(c.label == "whole-range calls" and c.postgres == pipeline_warehouse.calls for c in checks)
        timings = cp.time_pages(warehouse.published, server.conninfo(), params, repeats=1, budget_s=0)
    by_page = {(t.page, t.side): t for t in timings}
    assert {page for page, _ in by_page} == set(cp.PAGES)
    # the same daily cost by model rows on both sides
    page = "daily cost by model"
    assert by_page[(page, "agentledger")].rows == by_page[(page, "postgres")].rows > 0
