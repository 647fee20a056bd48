"""The cyclic collector while a service serves (shared/api/app.py): the first app to serve
freezes the start-up heap and raises the young generation's threshold; the last to stop (tests
run several apps in one process) puts both back."""
import gc

import pytest

from shared.api import app as service_app
from shared.api.app import SERVING_THRESHOLDS, _collector_serving

DEFAULT_THRESHOLDS = (700, 10, 10)   # CPython's


@pytest.fixture
def no_app_serving(monkeypatch):
    """The process as before any app served (the suite's earlier tests may have left one serving
    for the session): no app counted, the default thresholds, nothing frozen; put back after."""
    monkeypatch.setattr(service_app, "_serving", {"apps": 0, "thresholds": None})
    thresholds, frozen = gc.get_threshold(), gc.get_freeze_count()
    gc.unfreeze()
    gc.set_threshold(*DEFAULT_THRESHOLDS)
    yield
    gc.set_threshold(*thresholds)
    if frozen:
        gc.freeze()


def test_the_first_app_freezes_the_heap_and_the_last_puts_the_collector_back(no_app_serving):
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
    assert gc.get_threshold() == DEFAULT_THRESHOLDS
    assert gc.get_freeze_count() == 0
