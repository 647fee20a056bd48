"""The rebuild's collections between batches: only once the batches have left enough young
containers (a batch that frees what it allocated pays no walk), and then the cycles go."""
import gc
import weakref

from kernel.collection import collect_young, collection_paused


class Node:
    def __init__(self):
        self.me = self   # a cycle: only the collector frees it


def test_young_cycles_are_collected_once_past_the_threshold_and_not_before():
    with collection_paused():
        gc.collect()
        cycle = Node()
        alive = weakref.ref(cycle)
        del cycle
        collect_young(threshold=1000)          # a few containers left: no walk
        assert alive() is not None
        kept = [[] for _ in range(1000)]        # the batches left a thousand more
        collect_young(threshold=1000)
        assert alive() is None
        assert gc.get_count()[0] < 1000
        del kept
