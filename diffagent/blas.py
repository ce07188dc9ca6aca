"""Query-time NumPy products on one BLAS thread.

A query's products are small (one prompt against a few thousand model or sample vectors: about a
million multiply-adds). OpenBLAS splits them over every core anyway, and on a machine whose cores
are busy (the encoder's torch threads, the HTTP loop, other processes) its threads wait on each
other: a 1,800 x 768 matrix-vector product took 4-8 ms on two threads under load and 0.15 ms on
one. Bulk work (training, catalog encoding) keeps every thread: this is only for the query path.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_controller: Any = None
_lock = threading.Lock()


def _get_controller() -> Any:
    """One threadpoolctl controller per process (building one inspects every loaded library)."""
    global _controller
    with _lock:
        if _controller is None:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()
        return _controller


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the block with BLAS (NumPy's matrix products) on one thread, then restore."""
    with _get_controller().limit(limits=1, user_api="blas"):
        yield
