"""python -m stc_demo [--wait] [--then-tail]: run the story against a running platform."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

from rich.console import Console
from stc_cli.context import EDGE

from stc_demo.scenario import run_story, wait_for_platform

console = Console()


def main() -> int:
    """Run the story, print each step, then optionally follow every topic."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--wait", action="store_true", help="wait until all four services are healthy")
    p.add_argument(
        "--then-tail", action="store_true", help="keep running and print every event as it happens"
    )
    a = p.parse_args()
    if a.wait:
        with console.status("waiting for the four services to be healthy…"):
            asyncio.run(wait_for_platform(timeout=600))
        started = os.environ.get("STC_RUN_STARTED")
        if started:
            console.print(
                f"[green]platform ready[/green] {time.time() - float(started):.1f}s "
                "after `make run`"
            )
    result = asyncio.run(run_story(console=console))
    console.print()
    ok = sum(s.ok for s in result.steps)
    colour = "green" if ok == len(result.steps) else "red"
    console.print(
        f"[bold {colour}]{ok}/{len(result.steps)} steps as the law expects[/] "
        f"in {result.seconds:.1f}s"
    )
    console.print(TRY_THIS.format(edge=EDGE))
    if a.then_tail:
        from stc_cli.main import app

        console.print("[dim]following every topic (Ctrl-C stops the platform)…[/dim]")
        try:
            app(["tail"], prog_name="stc", standalone_mode=False)
        except KeyboardInterrupt:
            return 0
    return 0 if ok == len(result.steps) else 1


TRY_THIS = """
[bold]The portal[/bold] (exporters, officers, the public; 中文 / English): [bold]http://{edge}/[/bold]
  JSON: curl -s 'http://{edge}/v1/listEntries:search?query=Lockheed'   (docs/openapi/)

[bold]Try it yourself[/bold] (another terminal, in the repository):
  alias stc='.venv/bin/python -m stc_cli'
  stc status                                   # health of the four services and the edge
  stc list search 华为 --as public               # the public control list, any script
  stc screen party "Lockheed Martin Corp" --as officer:MOFCOM
  stc application list --as officer:MOFCOM     # the review queue with deadlines
  stc tail --from-beginning --count 20         # every event as readable JSON
  metrics: curl -s 127.0.0.1:9101/metrics | grep stc_   (9101-9104)
"""

if __name__ == "__main__":
    sys.exit(main())
