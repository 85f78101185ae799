"""What a store says when the service that holds it cannot be reached now (a cluster's NATS
restarting or down): the request may be retried. REST answers it with 503 and Retry-After
(`server/routers/unavailable.py`); it is never a 404 or a 500."""

from __future__ import annotations


class StoreUnavailable(RuntimeError):
    """The store cannot answer now; nothing was changed that the caller must undo."""

    retry_after_s = 2
