"""How a run file records a served model's endpoint: without secrets, and one spelling per server.

A run is resumed only with the settings it was written with, the endpoint among them. The URL a user
types is not a good key for that: ``http://localhost:8000/v1/`` and ``http://127.0.0.1:8000/v1`` reach the
same server, and ``https://user:KEY@host/v1`` must never be written to disk. :func:`endpoint_identity`
gives the one form run files store and compare:

- secrets redacted (:func:`pixbench.chat.redact.redact_url`: user info, key-like query parameters);
- scheme and host lower-cased; the loopback names ``localhost``, ``127.0.0.1`` and ``::1`` written
  ``127.0.0.1``;
- the scheme's default port dropped (``:80`` for http, ``:443`` for https);
- trailing slashes of the path dropped.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pixbench.chat.redact import redact_url

__all__ = ["endpoint_identity", "endpoints_as_compared"]

_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
_DEFAULT_PORTS = {"http": 80, "https": 443}


def endpoint_identity(url: str) -> str:
    """``url`` as run files record and compare it (module docstring).

    Examples:
        >>> endpoint_identity("HTTP://localhost:80/v1/")
        'http://127.0.0.1/v1'
        >>> endpoint_identity("https://user:sk-secret@Example.org:443/v1?api_key=sk-123456")
        'https://***@example.org/v1?api_key=***'
    """
    redacted = redact_url(url.strip())
    try:
        parts = urlsplit(redacted)
        port = parts.port
    except ValueError:  # not a URL we can take apart: compare it as typed (redacted)
        return redacted
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if host in _LOOPBACK:
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0] + "@" if "@" in parts.netloc else ""
    netloc = userinfo + host + (f":{port}" if port is not None and port != _DEFAULT_PORTS.get(scheme) else "")
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), parts.query, parts.fragment))


#: Keys of run-file settings that hold an endpoint.
ENDPOINT_KEYS = frozenset({"endpoint", "base_url"})


def endpoints_as_compared(settings: Any) -> Any:
    """``settings`` (nested dicts and lists) with every endpoint string (under a key of
    :data:`ENDPOINT_KEYS`) passed through :func:`endpoint_identity`: how a run file written before
    endpoints were recorded that way is compared with today's settings."""
    if isinstance(settings, dict):
        return {k: endpoint_identity(v) if k in ENDPOINT_KEYS and isinstance(v, str) else endpoints_as_compared(v)
                for k, v in settings.items()}
    if isinstance(settings, list):
        return [endpoints_as_compared(v) for v in settings]
    return settings
