"""Headless Chromium over the DevTools protocol, for checks, screenshots and PDFs.

Why not Chromium's one-shot flags (`--dump-dom`, `--screenshot`,
`--print-to-pdf`) alone: the report pages run their queries in a wasm DuckDB
worker after the load event, and `--virtual-time-budget` does not advance
that worker, so a one-shot capture shows loading placeholders. Driving the
page over the DevTools protocol lets us wait in real time until the page says
it is ready, then capture. The protocol is a few JSON messages over a
websocket; `websockets` is already in the locked environment (via uvicorn),
so no browser-automation package is added for it.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from orchestration.settings import load_settings

CHROMIUM_PATH = Path("/usr/bin/chromium")

# Flags verified for headless runs as root on a machine without network.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
)


class ChromiumMissingError(RuntimeError):
    """Raised when the Chromium binary is not installed."""


class BrowserError(RuntimeError):
    """Raised when the browser or a page does not behave as expected."""


def chromium_path() -> Path:
    """The Chromium executable, or a clear instruction to install it."""
    path = load_settings().chromium_path or CHROMIUM_PATH
    if not path.exists():
        raise ChromiumMissingError(
            f"Chromium not found at {path}; install it with `apt-get install -y chromium` "
            "(Debian) or set AGENTLEDGER_CHROMIUM to the executable."
        )
    return path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Static handler that resolves `/page` to `page.html` like a static host does."""

    def log_message(self, format: str, *args: Any) -> None:
        return

    def translate_path(self, path: str) -> str:
        local = super().translate_path(path)
        if not os.path.exists(local) and os.path.exists(local + ".html"):
            return local + ".html"
        return local


@contextlib.contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """Serve `directory` on 127.0.0.1 on an ephemeral port; yields the base URL."""
    if not (directory / "index.html").exists():
        raise BrowserError(f"{directory} has no index.html; build the report site first")
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Browser:
    """One headless Chromium process with a fresh profile, driven over CDP."""

    def __init__(self, width: int = 1400, height: int = 1000) -> None:
        self.width = width
        self.height = height
        self._proc: subprocess.Popen[bytes] | None = None
        self._profile: str | None = None
        self._ws: Any = None
        self._ids = itertools.count(1)

    def __enter__(self) -> Browser:
        from websockets.sync.client import connect

        binary = chromium_path()
        self._profile = tempfile.mkdtemp(prefix="agentledger-chromium-")
        self._proc = subprocess.Popen(
            [
                str(binary),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={self._profile}",
                f"--window-size={self.width},{self.height}",
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or len(port_file.read_text().splitlines()) < 2:
            if self._proc.poll() is not None:
                raise BrowserError(f"{binary} exited with code {self._proc.returncode} at start-up")
            if time.monotonic() > deadline:
                raise BrowserError(f"{binary} did not open its DevTools port within 30 s")
            time.sleep(0.1)
        port, ws_path = port_file.read_text().splitlines()[:2]
        self._ws = connect(f"ws://127.0.0.1:{port}{ws_path}", max_size=None, open_timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._ws is not None:
            with contextlib.suppress(Exception):
                self._ws.close()
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
        if self._profile:
            shutil.rmtree(self._profile, ignore_errors=True)

    def _call(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None, timeout: float = 60
    ) -> dict[str, Any]:
        msg_id = next(self._ids)
        message: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._ws.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrowserError(f"no answer to {method} within {timeout} s")
            reply = json.loads(self._ws.recv(timeout=remaining))
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise BrowserError(f"{method} failed: {reply['error']}")
                return reply.get("result", {})

    @contextlib.contextmanager
    def page(self, url: str, ready_js: str, timeout_s: float = 90, media: str | None = None) -> Iterator[Page]:
        """Open `url` in a new tab and wait until `ready_js` evaluates truthy.

        `media="print"` lays the page out with its print styles from the start,
        so charts are drawn at the printed width rather than resized at print time.
        """
        target = self._call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        try:
            self._call(
                "Emulation.setDeviceMetricsOverride",
                {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False},
                session,
            )
            if media:
                self._call("Emulation.setEmulatedMedia", {"media": media}, session)
            self._call("Page.enable", session=session)
            self._call("Page.navigate", {"url": url}, session)
            page = Page(self, session, url)
            page.wait_for(ready_js, timeout_s)
            yield page
        finally:
            with contextlib.suppress(Exception):
                self._call("Target.closeTarget", {"targetId": target})


class Page:
    """An attached tab: evaluate JavaScript, capture PNG or PDF."""

    def __init__(self, browser: Browser, session: str, url: str) -> None:
        self._browser = browser
        self._session = session
        self.url = url

    def evaluate(self, expression: str) -> Any:
        result = self._browser._call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            self._session,
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{self.url}: script failed: {result['exceptionDetails'].get('text')}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout_s: float) -> Any:
        """Poll `expression` in real time until truthy; the wasm worker needs wall-clock time."""
        deadline = time.monotonic() + timeout_s
        last: Any = None
        while time.monotonic() < deadline:
            try:
                last = self.evaluate(expression)
            except BrowserError:
                last = None
            if last:
                return last
            time.sleep(0.5)
        raise BrowserError(f"{self.url}: page not ready after {timeout_s} s (check: {expression[:120]})")

    def screenshot(self, out: Path, full_page: bool = False) -> Path:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            height = int(self.evaluate("document.documentElement.scrollHeight"))
            width = int(self.evaluate("document.documentElement.scrollWidth"))
            params["clip"] = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
            params["captureBeyondViewport"] = True
        data = self._browser._call("Page.captureScreenshot", params, self._session)["data"]
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(base64.b64decode(data))
        return out

    def print_pdf(self, out: Path, landscape: bool = True, paper: dict[str, float] | None = None) -> Path:
        """Same output as `--print-to-pdf --no-pdf-header-footer`, taken once data is on screen.

        `paper` adds Page.printToPDF's size and margin fields (inches): paperWidth,
        paperHeight, marginTop, marginBottom, marginLeft, marginRight.
        """
        data = self._browser._call(
            "Page.printToPDF",
            {
                "landscape": landscape,
                "displayHeaderFooter": False,
                "printBackground": True,
                "preferCSSPageSize": False,
                **(paper or {}),
            },
            self._session,
            timeout=120,
        )["data"]
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(base64.b64decode(data))
        return out
