"""`make demo`'s server really starts: runserver boots with the embedded scheduler and answers."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_runserver_boots_with_the_embedded_scheduler(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'boot.sqlite3'}"
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300)  # noqa: S603
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603 -- fixed argv, our own dev server
        [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        status = None
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:  # noqa: S310
                    status = response.status
                break
            except OSError:
                if server.poll() is not None:
                    break
                time.sleep(0.5)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=20)
    assert status == 200, output
    assert "Traceback" not in output, output
    assert "embedded scheduler started" in output
