"""The cyclic collector while a service serves (shared/api/app.py): the first app to serve
freezes the start-up heap and raises the young generation's threshold; the last to stop (tests
run several apps in one process) puts both back."""
import gc

from shared.api.app import SERVING_THRESHOLDS, _collector_serving


def test_the_first_app_freezes_the_heap_and_the_last_puts_the_collector_back():
    before = gc.get_threshold()
    assert before != SERVING_THRESHOLDS and gc.get_freeze_count() == 0
    _collector_serving(True)
    try:
        assert gc.get_threshold() == SERVING_THRESHOLDS
        assert gc.get_freeze_count() > 0
        _collector_serving(True)            # a second app in the same process
        _collector_serving(False)           # ... stops: the first still serves
        assert gc.get_threshold() == SERVING_THRESHOLDS
        assert gc.get_freeze_count() > 0
    finally:
        _collector_serving(False)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
