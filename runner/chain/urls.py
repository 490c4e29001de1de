"""Provider URLs as shown to people: hosted Ogmios/Kupo put credentials in the URL
(``https://user:token@host``, ``?api-key=...``) and DESIGN.md §5.7 keeps secrets out of
output and logs, so every message and location names the server by :func:`shown_url`."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def shown_url(url: str) -> str:
    """``url`` without its user-info (shown as ``***@``), query and fragment."""
    try:
        parts = urlsplit(url)
        host = parts.netloc.rpartition("@")[2]
        netloc = f"***@{host}" if "@" in parts.netloc else host
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return "<an unparseable URL, not shown>"
