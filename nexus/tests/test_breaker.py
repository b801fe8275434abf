"""The circuit breaker's states and its bulkhead, without any dependency."""

import threading

import pytest

from nexus.breaker import CircuitBreaker, DependencyUnavailable


def _fail(breaker: CircuitBreaker) -> None:
    with pytest.raises(OSError), breaker.guard():
        raise OSError("refused")


def test_it_opens_after_the_threshold_and_then_fails_fast_with_a_retry_after():
    breaker = CircuitBreaker("store", threshold=3, reset_seconds=60)
    _fail(breaker)
    _fail(breaker)
    assert breaker.state() == "closed"
    _fail(breaker)

    assert breaker.state() == "open"
    with pytest.raises(DependencyUnavailable) as caught, breaker.guard():
        pytest.fail("the dependency must not be called while the breaker is open")
    assert caught.value.dependency == "store" and 1 <= caught.value.retry_after <= 60


def test_a_success_resets_the_count_and_errors_that_are_answers_do_not_count():
    breaker = CircuitBreaker("store", threshold=2, reset_seconds=60)
    _fail(breaker)
    with breaker.guard():
        pass
    _fail(breaker)
    with pytest.raises(KeyError), breaker.guard(lambda exc: not isinstance(exc, KeyError)):
        raise KeyError("no such object")  # the store answered
    assert breaker.state() == "closed"


def test_half_open_lets_exactly_one_trial_through():
    breaker = CircuitBreaker("store", threshold=1, reset_seconds=0)
    _fail(breaker)
    assert breaker.state() == "half-open"

    breaker.before_call()  # the trial
    with pytest.raises(DependencyUnavailable):
        breaker.before_call()  # everyone else while the trial runs
    breaker.record_failure()  # the trial failed: open again (for 0 s here)
    breaker.before_call()
    breaker.record_success()
    assert breaker.state() == "closed"


def test_the_bulkhead_bounds_calls_in_flight():
    breaker = CircuitBreaker("store", threshold=3, reset_seconds=60, max_concurrent=1, queue_seconds=0.01)
    inside, release = threading.Event(), threading.Event()

    def hanging_call():
        with breaker.guard():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=hanging_call)
    thread.start()
    assert inside.wait(10)
    with pytest.raises(DependencyUnavailable), breaker.guard():
        pytest.fail("a second call must not start while the only slot is taken")
    release.set()
    thread.join()
    with breaker.guard():  # the slot is free again
        pass
    assert breaker.state() == "closed"
