"""Posting to a Slack incoming webhook, and what the answer means for a retry.

Plain ``urllib`` (no extra dependency), a short timeout, and a verdict per outcome:
  - 2xx: sent;
  - 429 (rate limited) and 5xx: retryable — Slack or the network will likely recover;
  - any other 4xx (bad URL, revoked webhook, ``invalid_payload``) and 3xx: permanent — retrying cannot help;
  - timeouts, refused connections, DNS errors: retryable.
Nothing here touches the database: callers (``health.services.deliveries``) record the outcome.
"""
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

TIMEOUT_SECONDS = 10
MAX_ERROR_CHARS = 500
USER_AGENT = "CS-Ops-alerts/1.0"


@dataclass(frozen=True)
class PostResult:
    ok: bool
    retryable: bool
    status_code: int | None = None
    error: str = ""

    @property
    def verdict(self) -> str:
        return "sent" if self.ok else ("retryable" if self.retryable else "permanent")


def mask_webhook_url(url: str) -> str:
    """A webhook URL is a secret (anyone holding it can post): show its host and the end of it only."""
    if not url:
        return ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…{url[-4:]}"


def classify_status(status_code: int) -> tuple[bool, bool]:
    """(ok, retryable) for an HTTP status code."""
    if 200 <= status_code < 300:
        return True, False
    if status_code == 429 or status_code >= 500:
        return False, True
    return False, False


def post_message(url: str, payload: dict, *, timeout: float = TIMEOUT_SECONDS) -> PostResult:
    """POST ``payload`` as JSON to ``url``; never raises for network or HTTP failures."""
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        return PostResult(ok=False, retryable=False, error=f"Not an http(s) URL (scheme {scheme or 'missing'!r}).")
    body = json.dumps(payload).encode()
    request = urllib.request.Request(  # noqa: S310 -- the scheme is checked to be http(s) just above
        url, data=body, method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 -- http(s) checked above
            status = response.status
            text = response.read(MAX_ERROR_CHARS).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        status = exc.code
        try:
            text = exc.read(MAX_ERROR_CHARS).decode("utf-8", "replace")
        except OSError:
            text = ""
        ok, retryable = classify_status(status)
        return PostResult(ok=ok, retryable=retryable, status_code=status,
                          error=_short(f"HTTP {status} {exc.reason}: {text}".rstrip(": ")))
    except TimeoutError:
        return PostResult(ok=False, retryable=True, error=f"Timed out after {timeout:g} s.")
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            return PostResult(ok=False, retryable=True, error=f"Timed out after {timeout:g} s.")
        return PostResult(ok=False, retryable=True, error=_short(f"Connection failed: {reason}"))
    except (OSError, ValueError) as exc:  # connection reset mid-response, malformed URL (e.g. bad port)
        return PostResult(ok=False, retryable=isinstance(exc, OSError), error=_short(f"{type(exc).__name__}: {exc}"))
    ok, retryable = classify_status(status)
    return PostResult(ok=ok, retryable=retryable, status_code=status,
                      error="" if ok else _short(f"HTTP {status}: {text}"))


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"
