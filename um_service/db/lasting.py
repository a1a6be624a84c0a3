"""Facts about a database that, once true, stay true: asked of the database until it says yes, then remembered.

"The member registry holds someone" (members are never deleted) and "this rule-set version is stored" (versions are
never deleted) are asked by every $submit and hook call; after the first yes, each worker stops asking. A fact is
remembered only when a query found it, so it was committed by then (a row this transaction wrote itself is not
remembered: the transaction may still roll back). Remembered per engine, or per connection where a session is bound
to one (tests that roll everything back at the end get a fresh memory each).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable

from sqlalchemy.orm import Session

_known: weakref.WeakKeyDictionary[object, set[Hashable]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def holds(session: Session, fact: Hashable, ask: Callable[[], bool]) -> bool:
    """Whether `fact` holds: remembered, or `ask()` the database (and remember a yes)."""
    bind = session.get_bind()
    known = _known.get(bind)
    if known is not None and fact in known:
        return True
    if not ask():
        return False
    with _lock:
        _known.setdefault(bind, set()).add(fact)
    return True
