"""Secrets kept out of what a chat client shows: errors, reprs, logs and replies.

A secret is the API key, or a part of the base URL that can carry one: its user info (``user:password@``,
also as the ``Authorization: Basic`` value it becomes) and the values of key-like query or fragment
parameters (names containing key, token, secret, passw, pwd, auth, sig, credential or session).
:func:`redact_url` rewrites a URL, :func:`redact_text` every URL inside a text and each known secret, and
:func:`install_log_redaction` attaches a filter doing the same to the loggers of ``openai``, ``httpx`` and
``httpcore`` (and the client's own). Secrets shorter than :data:`MIN_SECRET` characters are not scrubbed
from free text, as replacing them would mangle it.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = ["MIN_SECRET", "REDACTED", "install_log_redaction", "redact_text", "redact_url", "url_secrets"]

_SECRET_PARAM = re.compile(r"key|token|secret|passw|pwd|auth|sig|credential|session", re.IGNORECASE)
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s\"'<>]+")
_USERINFO = re.compile(r"//[^/@\s]*@")
_SECRET_PAIR = re.compile(r"([?&#;][^=&#\s]*=)([^&#\s]*)")
#: Shorter strings are not scrubbed from free text (they would mangle it).
MIN_SECRET = 6
#: What a secret is replaced by.
REDACTED = "***"


def _redact_pairs(text: str, separator: str) -> str:
    pairs = []
    for pair in text.split(separator):
        name, sep, _value = pair.partition("=")
        pairs.append(f"{name}=***" if sep and _SECRET_PARAM.search(unquote(name)) else pair)
    return separator.join(pairs)


def redact_url(url: str) -> str:
    """``url`` with its user info and the values of key-like query parameters replaced by ``***``.

    ``http://user:KEY@host:8000/v1?api_key=K2&api-version=1`` becomes
    ``http://***@host:8000/v1?api_key=***&api-version=1``. Parameters whose name contains key, token,
    secret, passw, pwd, auth, sig, credential or session are redacted; the rest of the URL is kept.

    Examples:
        >>> redact_url("http://user:pw@host:8000/v1?api_key=K2&api-version=1")
        'http://***@host:8000/v1?api_key=***&api-version=1'
    """
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. a broken IPv6 literal: redact by pattern
        return _SECRET_PAIR.sub(
            lambda m: m.group(1) + ("***" if _SECRET_PARAM.search(m.group(1)) else m.group(2)),
            _USERINFO.sub("//***@", url),
        )
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    query = _redact_pairs(parts.query, "&") if parts.query else ""
    fragment = _redact_pairs(parts.fragment, "&") if "=" in parts.fragment else parts.fragment
    redacted = urlunsplit((parts.scheme, netloc, parts.path, query, fragment))
    if url.endswith("?") and not query:
        redacted += "?"
    return redacted


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every URL passed through :func:`redact_url` and each of ``secrets`` replaced."""
    text = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET:
            text = text.replace(secret, REDACTED)
    return text


def url_secrets(url: str) -> tuple[str, ...]:
    """User info and key-like parameter values of ``url`` (raw and decoded), longest first, to scrub from text."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ()
    found: set[str] = set()
    if "@" in parts.netloc:
        userinfo = parts.netloc.rpartition("@")[0]
        user, _, password = userinfo.partition(":")
        basic = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()  # Basic auth header
        found.update({userinfo, user, password, unquote(user), unquote(password), basic})
    for section in (parts.query, parts.fragment):
        for pair in section.split("&"):
            name, sep, value = pair.partition("=")
            if sep and _SECRET_PARAM.search(unquote(name)):
                found.update({value, unquote(value.replace("+", " "))})
    return tuple(sorted((s for s in found if len(s) >= MIN_SECRET), key=len, reverse=True))


class _RedactingFilter(logging.Filter):
    """Rewrites log records of the HTTP libraries so that URLs and known secrets are redacted."""

    def __init__(self) -> None:
        super().__init__("pixbench-redact")
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()

    def add(self, secrets: Iterable[str]) -> None:
        with self._lock:
            merged = {*self._secrets, *(s for s in secrets if s and len(s) >= MIN_SECRET)}
            self._secrets = tuple(sorted(merged, key=len, reverse=True))

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's business
            return True
        cleaned = redact_text(message, self._secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_LOG_FILTER = _RedactingFilter()
_HTTP_LOGGERS = ("httpx", "httpx2", "httpcore", "httpcore2", "openai", "pixbench.chat")


def install_log_redaction(secrets: Iterable[str], loggers: Iterable[str] = ()) -> None:
    """Attach the redacting filter (which learns ``secrets``) to the loggers of openai, httpx and httpcore,
    of this package and to ``loggers``, and to their children that exist now (a filter does not see the
    records its logger's children propagate)."""
    _LOG_FILTER.add(secrets)
    roots = (*_HTTP_LOGGERS, *loggers)
    prefixes = tuple(f"{name}." for name in roots)
    names = {name for name in list(logging.root.manager.loggerDict) if name.startswith(prefixes)}
    for name in sorted({*roots, *names}):
        target = logging.getLogger(name)
        if _LOG_FILTER not in target.filters:
            target.addFilter(_LOG_FILTER)
