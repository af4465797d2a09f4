"""How the UI reports failures: a user's mistake as its message, anything else as an internal error whose
traceback goes to the app's log (never to the page)."""
from __future__ import annotations

import logging

from gan_art.errors import GanArtError

log = logging.getLogger("gan_art.ui")


def error_message(exc: Exception) -> str:
    """The text a tab shows for ``exc``; internal errors are logged with their traceback."""
    if isinstance(exc, GanArtError | OSError):  # OSError: the machine's state (disk full, permissions), not a bug
        return f"⚠️ {exc}"
    log.error("internal error in a UI handler", exc_info=exc)
    return f"⚠️ Internal error ({type(exc).__name__}): the details are in the app's log. Please report it."
