"""`one_blas_thread`: NumPy's BLAS on one thread inside the block, the process setting after."""

from threadpoolctl import threadpool_info, threadpool_limits

from diffagent.blas import THREADED_ELEMENTS, one_blas_thread, one_blas_thread_for


def blas_threads() -> set[int]:
    """Threads of the BLAS that NumPy multiplies with. faiss-cpu ships an OpenBLAS of its own
    (faiss_cpu.libs), loaded once an ANN index is built in this process; the query path leaves it
    be (its products are past `THREADED_ELEMENTS`)."""
    return {
        pool["num_threads"]
        for pool in threadpool_info()
        if pool["user_api"] == "blas" and "faiss" not in pool["filepath"]
    }


def test_one_blas_thread_limits_and_restores() -> None:
    with threadpool_limits(2, user_api="blas"):  # a known outside setting, whatever the machine
        with one_blas_thread():
            assert blas_threads() == {1}
        assert blas_threads() == {2}


def test_big_products_keep_every_thread() -> None:
    with threadpool_limits(2, user_api="blas"):
        with one_blas_thread_for(THREADED_ELEMENTS - 1):
            assert blas_threads() == {1}
        with one_blas_thread_for(THREADED_ELEMENTS):
            assert blas_threads() == {2}


def test_thread_count_sets_for_the_block_and_puts_back() -> None:
    from diffagent.blas import thread_count

    setting = [4]
    with thread_count(lambda: setting[0], lambda n: setting.__setitem__(0, n), 1):
        assert setting == [1]
    assert setting == [4]
    with thread_count(lambda: setting[0], lambda n: setting.__setitem__(0, n), 0):  # 0: leave it
        assert setting == [4]
