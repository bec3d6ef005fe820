"""What a published passcode or token looks like, in notes and in ``wg.yaml``'s video link."""

from __future__ import annotations

import re

#: A meeting link that carries its passcode or token as a query or fragment parameter.
SECRET_QUERY = re.compile(r"[?&#](pwd|passcode|password|pass|token|access_token|tk|key)=", re.I)
#: A line of notes that writes a passcode out (``Passcode: 123456``).
SECRET_LINE = re.compile(r"\b(passcode|password|pwd)\s*[:=]\s*\S", re.I)


def publishes_secret(line: str, urls: list[str]) -> bool:
    """Whether a line (whose links are ``urls``) publishes a passcode or token.

    Examples
    --------
    >>> publishes_secret("Zoom: https://zoom.us/j/1?pwd=abc", ["https://zoom.us/j/1?pwd=abc"])
    True
    >>> publishes_secret("Passcode: 123456", []), publishes_secret("pass the salt", [])
    (True, False)
    """
    return any(SECRET_QUERY.search(url) for url in urls) or SECRET_LINE.search(line) is not None
