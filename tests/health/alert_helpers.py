"""Builders for the alert tests: snapshots in an organization, and a real local Slack-webhook stand-in."""
import datetime as dt
import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from csops.tenancy.context import tenant_context
from health.models import HealthModel, HealthModelVersion, HealthSnapshot

DAY = dt.date(2026, 11, 20)


def published_version(org) -> HealthModelVersion:
    with tenant_context(org):
        return HealthModelVersion.objects.get(model=HealthModel.objects.get(segment_field=""), status="published")


def new_version(org) -> HealthModelVersion:
    """Another version of the default model (as if a new one had been published since)."""
    with tenant_context(org):
        base = published_version(org)
        return HealthModelVersion.objects.create(model=base.model, number=base.number + 1, status="draft",
                                                 config=base.config)


def band_of(score) -> str:
    return "unknown" if score is None else "healthy" if score >= 70 else "at_risk" if score < 40 else "stable"


def snap(account, date: dt.date, score, *, version=None, band=None, why="Usage trend fell from 72 to 31"):
    org = account.organization
    version = version or published_version(org)
    with tenant_context(org):
        return HealthSnapshot.objects.create(
            account=account, date=date, model_version=version,
            score=None if score is None else Decimal(str(score)), band=band or band_of(score),
            components=[{"component": "usage_trend", "label": "Usage trend", "score": 20.0},
                        {"component": "nps", "label": "NPS", "score": 80.0}],
            top_detractor="usage_trend" if score is not None else "", top_detractor_points=24.0, why_changed=why,
        )


class WebhookServer:
    """A real HTTP server on 127.0.0.1 (port chosen by the OS) answering POSTs with scripted status codes:
    ``statuses[i]`` for the i-th request, the last one for every request after. Records each JSON body."""

    def __init__(self, statuses, *, delay: float = 0.0):
        self.statuses = list(statuses)
        self.delay = delay
        self.bodies: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 -- http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                index = len(server.bodies)
                server.bodies.append(body)
                if server.delay:
                    time.sleep(server.delay)
                status = server.statuses[min(index, len(server.statuses) - 1)]
                text = b"ok" if status < 300 else b"invalid_payload" if status < 500 else b"server_error"
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(text)))
                    self.end_headers()
                    self.wfile.write(text)
                except OSError:  # the client gave up (timeout test)
                    pass

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/services/T000/B000/secret"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
