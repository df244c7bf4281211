"""Re-screening of live licences after a list change (ECL Art. 18; issue 14): with 10,000
live licences, how long from an officer's AddListEntry until every licence whose party the
new entry names is suspended, and how many events that took.

The platform runs as it is deployed (the four services, each its own process, on fresh
databases of the local test stack: ``KAFKA_BOOTSTRAP_SERVERS`` and ``STC_TEST_DATABASE_URL``
as ``make test`` sets them). One licence is issued through the real flow (submit → screened →
assessed → approved); the other licences are copies of its rows made with SQL the way the two
services store them: licensing's ``applications`` and ``licences`` rows (new ids, the same
content) and screening's re-screening projection (``subjects``: the licence's parties, each
copy with end user and importer names of its own; ``--affected`` of them name the party
that is then listed). Then the officer lists that party and the bench polls licensing's
table until every affected licence is SUSPENDED, and counts screening's RescreeningMatch and
licensing's LicenceSuspended outbox rows (each exactly once per affected licence; no other
licence suspended).

Prints figures, passes nothing: ``.venv/bin/python bench/rescreen.py [--licences 10000]
[--affected 100]``; the list change is repeated ``--rounds`` times with a new party each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / f"services/{s}/src")
                for s in ("common", "licensing", "screening", "enduser", "credit", "cli")]

import asyncpg  # noqa: E402
from stc.screening.v1 import events_pb2 as scr_events  # noqa: E402
from stc.screening.v1 import screening_service_pb2  # noqa: E402
from stc_common.testing.platform import running_services  # noqa: E402
from stc_demo.scenario import Story  # noqa: E402

WORDS = ("Nordic", "Precision", "Harbour", "Instruments", "Solar", "Machinery", "Trading",
         "Holdings", "Components", "Optics", "Logistics", "Works", "Pacific", "Delta",
         "Electric", "Materials", "Systems", "Import", "Export", "Industrial")


# parties listed in turn: names far apart, so one round's entry is no match for another's
NAMES = ("Querwerk Präzision GmbH", "Altmark Feinguss AG", "Brenner Sintertechnik KG",
         "Ostsee Vakuumöfen GmbH", "Lindqvist Kryoteknik AB")


def _dsn(admin: str, db: str) -> str:
    return f"{admin.rpartition('/')[0]}/{db}"


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def seed(lic: asyncpg.Connection, scr: asyncpg.Connection, template: str, n: int,
               rng: random.Random) -> list[str]:
    """n - 1 copies of the template licence in both services' tables; their ids."""
    app_id = await lic.fetchval("SELECT application_id FROM licences WHERE id = $1", template)
    ids = [f"bench-lic-{i:05d}" for i in range(1, n)]
    # applications: every column of the template, with a new id, reference, request id and
    # licence id (the unique ones)
    cols = [r["column_name"] for r in await lic.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'applications'"
        " ORDER BY ordinal_position")]
    new = {"id": "'bench-app-' || lpad(g::text, 5, '0')",
           "reference": "reference || '-B' || g", "request_id": "'bench-' || g",
           "licence_id": "'bench-lic-' || lpad(g::text, 5, '0')"}
    await lic.execute(
        f"INSERT INTO applications ({', '.join(cols)}) SELECT "
        + ", ".join(new.get(c, c) for c in cols)
        + f" FROM applications, generate_series(1, {n - 1}) g WHERE id = $1", app_id)
    cols = [r["column_name"] for r in await lic.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'licences'"
        " ORDER BY ordinal_position")]
    new = {"id": "'bench-lic-' || lpad(g::text, 5, '0')",
           "application_id": "'bench-app-' || lpad(g::text, 5, '0')"}
    await lic.execute(
        f"INSERT INTO licences ({', '.join(cols)}) SELECT "
        + ", ".join(new.get(c, c) for c in cols)
        + f" FROM licences, generate_series(1, {n - 1}) g WHERE id = $1", template)
    row = await scr.fetchrow(
        "SELECT exporter_uscc, parties FROM subjects WHERE subject_kind = 'LICENCE' "
        "AND subject_id = $1", template)
    assert row is not None, "screening has not kept the template licence's parties"
    parties = row["parties"] if isinstance(row["parties"], list) else json.loads(row["parties"])
    records = []
    for lid in ids:
        own = []
        for p in parties:
            p = dict(p)
            p["name"] = (f"{' '.join(rng.sample(WORDS, 3))} {rng.randint(1, 10**6)} "
                         f"{rng.choice(('GmbH', 'Ltd', 'LLC', 'AB', 'S.p.A.'))}")
            p["aliases"] = []
            own.append(p)
        records.append(("LICENCE", lid, row["exporter_uscc"], json.dumps(own)))
    await scr.copy_records_to_table(
        "subjects", records=records,
        columns=["subject_kind", "subject_id", "exporter_uscc", "parties"])
    return ids


async def name_party(scr: asyncpg.Connection, ids: list[str], name: str) -> None:
    """The end user of these licences is `name` (the party about to be listed)."""
    await scr.execute(
        """UPDATE subjects SET parties = (
             SELECT jsonb_agg(CASE WHEN p->>'party_id' = 'end-user'
                              THEN jsonb_set(p, '{name}', to_jsonb($2::text)) ELSE p END)
             FROM jsonb_array_elements(parties) p)
           WHERE subject_kind = 'LICENCE' AND subject_id = ANY($1)""", ids, name)


async def one_round(story: Story, lic: asyncpg.Connection, scr: asyncpg.Connection,
                    affected: list[str], name: str, pids: dict[str, int]) -> None:
    """List `name`; wait until every affected licence is suspended; print the figures."""
    susp0 = await lic.fetchval("SELECT count(*) FROM licences WHERE state = 'SUSPENDED'")
    m0 = await scr.fetchval("SELECT count(*) FROM outbox WHERE ce_type LIKE '%RescreeningMatch'")
    s0 = await lic.fetchval("SELECT count(*) FROM outbox WHERE ce_type LIKE '%LicenceSuspended'")
    cpu0 = {k: _cpu_seconds(p) for k, p in pids.items()}
    t0 = time.perf_counter()
    entry = await story.scr.AddListEntry(screening_service_pb2.AddListEntryRequest(
        entry=scr_events.ListEntry(
            list_kind=scr_events.LIST_KIND_CONTROL_LIST, primary_name=name,
            countries=["DE"], party_type="entity",
            announcement=f"MOFCOM Announcement 2026 No. B{story.run}"),
        reason="diversion risk to military end use (Art. 18)"),
        metadata=story.mofcom, timeout=120)
    rpc = time.perf_counter() - t0
    first = None
    done = 0
    deadline = t0 + 300
    while time.perf_counter() < deadline:
        done = await lic.fetchval(
            "SELECT count(*) FROM licences WHERE id = ANY($1) AND state = 'SUSPENDED'",
            affected)
        if done and first is None:
            first = time.perf_counter() - t0
        if done == len(affected):
            break
        await asyncio.sleep(0.02)
    took = time.perf_counter() - t0
    await asyncio.sleep(1.0)  # anything more (a double suspension) would show by now
    cpu = {k: _cpu_seconds(p) - cpu0[k] for k, p in pids.items()}
    matches = await scr.fetchval(
        "SELECT count(*) FROM outbox WHERE ce_type LIKE '%RescreeningMatch'") - m0
    suspended = await lic.fetchval(
        "SELECT count(*) FROM outbox WHERE ce_type LIKE '%LicenceSuspended'") - s0
    others = await lic.fetchval(
        "SELECT count(*) FROM licences WHERE state = 'SUSPENDED'") - susp0 - done
    print(f"{len(affected):>8} {rpc:>8.2f} {first or 0:>9.2f} {took:>9.2f} "
          f"{done:>9} {matches:>8} {suspended:>9} {others:>7}  "
          + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items()))
    await story.scr.RemoveListEntry(screening_service_pb2.RemoveListEntryRequest(
        entry_id=entry.entry_id, reason="benchmark listing withdrawn"),
        metadata=story.mofcom, timeout=120)


async def main(args) -> None:
    admin = os.environ.get("STC_TEST_DATABASE_URL", "")
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    if not admin or not kafka:
        sys.exit("run under the test stack's KAFKA_BOOTSTRAP_SERVERS and STC_TEST_DATABASE_URL")
    rng = random.Random(14)
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    t0 = time.perf_counter()
    async with running_services(ROOT, admin, kafka, ready_timeout=300) as procs:
        print(f"platform up in {time.perf_counter() - t0:.1f}s (four services, own processes)")
        pids = {k: p.pid for k, p in procs.procs.items()}
        spy = None
        if args.py_spy:
            # sample the screening process during the rounds (py-spy, raw collapsed stacks)
            spy = await asyncio.create_subprocess_exec(
                str(Path(sys.executable).parent / "py-spy"), "record", "--pid",
                str(pids["screening"]), "--rate", "200", "--format", "raw", "-o", args.py_spy,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        async with Story(console=None) as story:
            await story.register(story.xinghe, "复核测试有限公司", "Rescreen Bench Co., Ltd.")
            template = await story.licensed(story.xinghe, f"Vorlage Werkzeug GmbH {story.run}")
            lic = await asyncpg.connect(_dsn(admin, procs.penv.databases["licensing"]))
            scr = await asyncpg.connect(_dsn(admin, procs.penv.databases["screening"]))
            try:
                # screening keeps the licence's parties once it has consumed LicenceIssued
                for _ in range(300):
                    if await scr.fetchval("SELECT count(*) FROM subjects WHERE subject_id = $1",
                                          template.licence_id):
                        break
                    await asyncio.sleep(0.1)
                t1 = time.perf_counter()
                ids = await seed(lic, scr, template.licence_id, args.licences, rng)
                live = await lic.fetchval("SELECT count(*) FROM licences WHERE state = 'ACTIVE'")
                kept = await scr.fetchval("SELECT count(*) FROM subjects")
                print(f"seeded in {time.perf_counter() - t1:.1f}s: {live} live licences, "
                      f"{kept} subjects kept by screening for re-screening")
                print(f"{'affected':>8} {'rpc s':>8} {'first s':>9} {'all s':>9} "
                      f"{'suspended':>9} {'matches':>8} {'LicSusp':>9} {'others':>7}  "
                      f"CPU s per process during the round")
                pool = list(ids)
                rng.shuffle(pool)
                for r in range(args.rounds):
                    affected = pool[r * args.affected:(r + 1) * args.affected]
                    name = f"{NAMES[r % len(NAMES)]} {story.run}"
                    await name_party(scr, affected, name)
                    await one_round(story, lic, scr, affected, name, pids)
            finally:
                await lic.close()
                await scr.close()
                if spy is not None:
                    spy.send_signal(2)
                    await spy.wait()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--licences", type=int, default=10_000, help="live licences")
    ap.add_argument("--affected", type=int, default=100,
                    help="licences whose end user the list change names")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--py-spy", default="", help="write a py-spy profile of screening here")
    asyncio.run(main(ap.parse_args()))
