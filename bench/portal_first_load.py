"""Benchmark: what a first load of the portal costs — bytes over the wire and time — in Debian's
headless chromium against the edge (a real Envoy serving portal/dist), cache empty each time.

The first page (the public control-list search) needs no API call, so no service runs here.
Prints, per load and as medians: bytes transferred (document + every resource, HTTP headers
included, as the browser's Resource Timing reports them), time to the response's last byte,
DOMContentLoaded and the load event, and when the page's first render was done.

    make portal && .venv/bin/python bench/portal_first_load.py [--loads 5]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for sub in ("common", "edge"):
    sys.path.insert(0, str(ROOT / "services" / sub / "src"))

from stc_common.testing.service import free_port  # noqa: E402
from stc_edge.config import EdgeSettings  # noqa: E402
from stc_edge.testing import running_edge  # noqa: E402

MEASURE = """
const nav = performance.getEntriesByType('navigation')[0];
const res = performance.getEntriesByType('resource');
const paint = performance.getEntriesByName('first-contentful-paint')[0];
return {bytes: nav.transferSize + res.reduce((s, r) => s + r.transferSize, 0),
        body: nav.encodedBodySize + res.reduce((s, r) => s + r.encodedBodySize, 0),
        files: 1 + res.length, responseEnd: nav.responseEnd,
        dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
        fcp: paint ? paint.startTime : null};
"""


def load_once(url: str) -> dict:
    from selenium import webdriver

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        opts.add_argument(arg)
    d = webdriver.Chrome(options=opts,
                         service=webdriver.ChromeService(shutil.which("chromedriver")))
    try:
        d.get(url)
        d.execute_script("return document.readyState")
        import time
        time.sleep(0.3)  # the load event's end is recorded after it returns
        return d.execute_script(MEASURE)
    finally:
        d.quit()


async def main(loads: int) -> None:
    settings = EdgeSettings(port=free_port(), admin_port=free_port(),
                            portal_dir=ROOT / "portal" / "dist")
    with tempfile.TemporaryDirectory() as tmp:
        async with running_edge(settings, Path(tmp)) as edge:
            url = f"http://127.0.0.1:{edge.port}/"
            rows = [await asyncio.to_thread(load_once, url) for _ in range(loads)]
    for r in rows:
        print(f"bytes {r['bytes']:7d} (bodies {r['body']:6d}, {r['files']} files)  "
              f"last byte {r['responseEnd']:6.1f} ms  DOMContentLoaded {r['dcl']:6.1f} ms  "
              f"load {r['load']:6.1f} ms  first paint {r['fcp'] or 0:6.1f} ms")
    med = {k: statistics.median(r[k] or 0 for r in rows)
           for k in ("bytes", "body", "dcl", "load", "fcp")}
    print(f"median of {loads} cold loads: {med['bytes']:.0f} bytes "
          f"({med['body']:.0f} of bodies), DOMContentLoaded {med['dcl']:.0f} ms, "
          f"load {med['load']:.0f} ms, first contentful paint {med['fcp']:.0f} ms")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--loads", type=int, default=5)
    asyncio.run(main(ap.parse_args().loads))
