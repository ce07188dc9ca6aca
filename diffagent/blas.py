"""Query-time NumPy products on one BLAS thread.

A query's products are small (one prompt against a few thousand model or sample vectors: about a
million multiply-adds). OpenBLAS splits them over every core anyway, and on a machine whose cores
are busy (the encoder's torch threads, the HTTP loop, other processes) its threads wait on each
other: a 1,800 x 768 matrix-vector product took 4-8 ms on two threads under load and 0.15 ms on
one. Bulk work (training, catalog encoding) keeps every thread, and so does a product big enough
to be bound by memory bandwidth, not by thread start-up: a query against 100,000 model vectors
(300 MB) took 25 ms on two threads and 38 ms on one (`one_blas_thread_for`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
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


THREADED_ELEMENTS = 20_000_000  # matrix elements from which a query's product keeps every thread


def one_blas_thread_for(elements: int) -> AbstractContextManager[None]:
    """`one_blas_thread` for a query over a matrix of `elements` values; all threads past
    `THREADED_ELEMENTS` (about 26,000 vectors of the dense signal's 768 values)."""
    return one_blas_thread() if elements < THREADED_ELEMENTS else nullcontext()


@contextmanager
def thread_count(get: Callable[[], int], put: Callable[[int], None], count: int) -> Iterator[None]:
    """A library's thread count set to `count` for the block (`put`), then what `get` said before
    put back; `count` <= 0 leaves it as it is. For torch's and faiss's own thread pools, which
    threadpoolctl does not set the same way."""
    if count <= 0:
        yield
        return
    before = get()
    put(count)
    try:
        yield
    finally:
        put(before)
