"""Run the edge (a real Envoy process) for tests and benchmarks, on free ports."""

from __future__ import annotations

import asyncio
import contextlib
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

from stc_edge.__main__ import envoy_argv
from stc_edge.config import EdgeSettings
from stc_edge.envoy import write_config


def _ready(admin_port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/ready", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


@contextlib.asynccontextmanager
async def running_edge(settings: EdgeSettings, workdir: Path,
                       timeout: float = 30) -> AsyncIterator[EdgeSettings]:
    """Write the configuration into `workdir`, start Envoy, wait until it is ready (its admin
    /ready answers 200, i.e. the listener is up); stop it afterwards."""
    config = write_config(settings, workdir / "envoy.json")
    log = workdir / "envoy.log"
    with open(log, "wb") as out:  # noqa: ASYNC230 - opened once, before Envoy runs
        proc = await asyncio.create_subprocess_exec(
            *envoy_argv(config, "warn"), stdout=out, stderr=asyncio.subprocess.STDOUT)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await asyncio.to_thread(_ready, settings.admin_port):
            if proc.returncode is not None:
                raise RuntimeError(f"envoy exited: {log.read_text()[-2000:]}")
            if loop.time() > deadline:
                raise TimeoutError(f"envoy not ready after {timeout}s: {log}")
            await asyncio.sleep(0.1)
        yield settings
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
