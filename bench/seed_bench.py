"""Benchmark `manage.py seed_demo --accounts N --reset` on SQLite and (optionally) PostgreSQL.

Each measured command runs in its own subprocess; wall time is taken around it and its peak RSS and
CPU time come from the kernel's rusage of that child (`os.wait4`, the per-child form of
`resource.getrusage(RUSAGE_CHILDREN)`). Targets: wall ≤ 60 s and peak RSS ≤ 1 GiB per database.

    .venv/bin/python bench/seed_bench.py                                   # SQLite only, 100k accounts
    .venv/bin/python bench/seed_bench.py --postgres postgres://postgres@127.0.0.1/csops_bench_seed
    .venv/bin/python bench/seed_bench.py --skip-sqlite --postgres URL --runs 3

The PostgreSQL database named in the URL is dropped and recreated with createdb/dropdb (host and user
from the URL), then migrated. The machine's load average is printed with each run: on a shared
machine other work inflates wall time, while the CPU time of the seed process barely moves.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
WALL_TARGET_S = 60.0
RSS_TARGET_MIB = 1024.0


@dataclass
class Run:
    wall_s: float
    cpu_s: float
    max_rss_mib: float
    load_before: float
    load_after: float
    summary: str


def run_measured(cmd: list[str], env: dict[str, str]) -> tuple[float, object, str, str]:
    """Run `cmd`, returning (wall seconds, rusage of that child alone, stdout, stderr)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)  # reap it ourselves: its own rusage, not all children's
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        sys.stderr.write(stderr[-4000:])
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    return wall, usage, stdout, stderr


def run_plain(cmd: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-2000:] + result.stderr[-4000:])
        raise SystemExit(f"command failed ({result.returncode}): {' '.join(cmd)}")


def bench_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="csops.settings.base", PYTHONUNBUFFERED="1")
    return env


def seed_once(database_url: str, accounts: int, extra: list[str]) -> Run:
    env = bench_env(database_url)
    load_before = os.getloadavg()[0]
    cmd = [PYTHON, "manage.py", "seed_demo", "--accounts", str(accounts), "--reset", *extra]
    wall, usage, out, _ = run_measured(cmd, env)
    wanted = ("Seeded northwind", "  phases of northwind")
    lines = [line.strip() for line in out.splitlines() if line.startswith(wanted)]
    summary = "\n         ".join(lines) or out.strip()[:300]
    return Run(wall_s=wall, cpu_s=usage.ru_utime + usage.ru_stime, max_rss_mib=usage.ru_maxrss / 1024,
               load_before=load_before, load_after=os.getloadavg()[0], summary=summary)


def prepare_sqlite(path: Path) -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    run_plain([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], bench_env(url))
    return url


def prepare_postgres(url: str) -> str:
    parts = urlparse(url)
    name = parts.path.lstrip("/")
    if not name:
        raise SystemExit("--postgres needs a database name: postgres://user@host:port/NAME")
    conn = ["-h", parts.hostname or "127.0.0.1", "-U", parts.username or "postgres"]
    if parts.port:
        conn += ["-p", str(parts.port)]
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = parts.password
    run_plain(["dropdb", "--if-exists", *conn, name], env)
    run_plain(["createdb", *conn, name], env)
    run_plain([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], bench_env(url))
    return url


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(label: str, runs: list[Run]) -> bool:
    print(f"\n== {label}: {len(runs)} run(s)")
    for i, r in enumerate(runs, 1):
        print(f"  run {i}: wall {r.wall_s:6.1f} s | cpu {r.cpu_s:6.1f} s | peak RSS {r.max_rss_mib:7.1f} MiB | "
              f"load avg {r.load_before:.1f} → {r.load_after:.1f}")
        print(f"         {r.summary}")
    best_wall = min(r.wall_s for r in runs)
    median_wall = statistics.median(r.wall_s for r in runs)
    peak = max(r.max_rss_mib for r in runs)
    wall_ok, rss_ok = best_wall <= WALL_TARGET_S, peak <= RSS_TARGET_MIB
    print(f"  wall: best {best_wall:.1f} s, median {median_wall:.1f} s (target ≤ {WALL_TARGET_S:.0f} s) "
          f"→ {verdict(wall_ok)}")
    print(f"  peak RSS: {peak:.1f} MiB (target ≤ {RSS_TARGET_MIB:.0f} MiB) → {verdict(rss_ok)}")
    return wall_ok and rss_ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1, help="seed this many times per database (each with --reset)")
    parser.add_argument("--sqlite-path", type=Path, default=Path("/tmp/csops_bench_seed.sqlite3"))
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--postgres", metavar="URL", help="postgres://user@host:port/DBNAME (dropped and recreated)")
    parser.add_argument("--fast-passwords", action="store_true", help="pass --fast-passwords to seed_demo")
    parser.add_argument("--skip", action="append", default=[], metavar="PHASE",
                        help="pass --skip PHASE to seed_demo (repeatable), e.g. --skip contracts")
    args = parser.parse_args()

    extra = (["--fast-passwords"] if args.fast_passwords else []) + [f"--skip={p}" for p in args.skip]
    targets = []
    if not args.skip_sqlite:
        targets.append(("SQLite", lambda: prepare_sqlite(args.sqlite_path)))
    if args.postgres:
        targets.append(("PostgreSQL", lambda: prepare_postgres(args.postgres)))
    if not targets:
        parser.error("nothing to benchmark: give --postgres or drop --skip-sqlite")

    print(f"seed_demo --accounts {args.accounts} --reset {' '.join(extra)}| {os.cpu_count()} CPUs | python {PYTHON}")
    all_ok = True
    for label, prepare in targets:
        url = prepare()
        runs = [seed_once(url, args.accounts, extra) for _ in range(args.runs)]
        all_ok &= report(f"{label} ({url})", runs)
    return 0 if all_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
