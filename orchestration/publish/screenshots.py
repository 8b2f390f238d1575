"""`python -m orchestration.publish.screenshots`: PNGs of the main report pages for the docs.

Serves the built site (<data>/published/site by default) on 127.0.0.1, waits
for each page's queries and charts in headless Chromium, and writes
docs/screenshots/<page>.png: the top of each page at 1280x1000, which is
what a reader sees first and keeps each file well under 300 KB.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from orchestration.publish.browser import Browser, serve_directory
from orchestration.publish.export import PAGE_READY_JS
from orchestration.publish.report_build import site_dir
from orchestration.settings import REPO_ROOT, load_settings

PAGES = {
    "overview": "/",
    "cost": "/cost",
    "attribution": "/attribution",
    "forecast": "/forecast",
    "anomalies": "/anomalies",
    "budgets": "/budgets",
    "recommendations": "/recommendations",
    "data-quality": "/quality",
}


def take_screenshots(
    build_dir: Path, out_dir: Path, pages: dict[str, str] = PAGES, settle_s: float = 2.0
) -> list[Path]:
    written = []
    with serve_directory(build_dir) as base, Browser(width=1280, height=1000) as browser:
        for name, route in pages.items():
            with browser.page(base + route, PAGE_READY_JS, timeout_s=120) as page:
                time.sleep(settle_s)  # let chart entry animations finish
                written.append(page.screenshot(out_dir / f"{name}.png"))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", type=Path, help="built site (default: <data dir>/published/site)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    for path in take_screenshots(args.build_dir or site_dir(load_settings()), args.out):
        print(f"{path} ({path.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
