"""Time and profile the pure funding computation (issue 18), without a database.

    .venv/bin/python -m bench.profile_engine [--paths 10000] [--contracts 100000]
        [--profile parse|compute|whole|rebuild] [--dump FILE]

(a) the simulation of ``--paths`` generated contract paths, built as
bench/parcours_stages.simulation_request does: the bench's figure (simulate_json of the JSON text,
the CLI's path), then its parts inside one pause of the collector as simulate_json runs them:
decoding (orjson), validation (parse_simulation: one pydantic-core check of the events, the
readers' checks of their data included; the models only for a request it refuses or cannot
vouch for), the computation (simulate(), which leaves the request alone: simulate_json hands
its events over instead, freeing each as it is read);
(b) the rebuild's use: compute() once per apprentice path of a ``--contracts`` history (the
collector running as it will, every result kept: the figure reported since issue 18 began),
then as the bulk rebuild runs it (services/financing/adapters/bulk_rebuild.py): one compute() over
the events of each chunk of PATHS_PER_CHUNK paths, the collector paused and its youngest
generation collected after each chunk, the results dropped.
``--dump`` writes the simulation's answer (JSON, sorted keys) for a byte-for-byte comparison
between versions."""
from __future__ import annotations

import cProfile
import gc
import json
import pstats
import resource
import time
from collections import defaultdict
from datetime import date

import orjson
import typer

from kernel.collection import collection_paused
from kernel.reference.tables import seed_values
from operations.history_generator import generate
from operations.rebuild import PATHS_PER_CHUNK
from services.financing.application.simulate import simulate, simulate_json
from services.financing.domain.engine import compute
from services.financing.domain.inputs import parse_simulation
from services.financing.domain.npec import Referential

TODAY = date(2026, 6, 30)
CLOCK = time.process_time   # CPU seconds of this process: steady on a shared, loaded machine


def simulation_request(paths: int, seed: int) -> dict:
    """bench/parcours_stages.simulation_request over bench/run.py's generator call."""
    events = [{"type": t, "subject": s, "data": d}
              for a in generate(paths, seed) for s, _, evs in a.streams for t, d in evs]
    return {"events": events, "as_of": TODAY.isoformat()}


def history_paths(contracts: int, seed: int) -> list[list[dict]]:
    """The events of each apprentice path, as the projection reads them (funding_reads.path_events)."""
    by_path: dict[str, list[dict]] = defaultdict(list)
    for a in generate(contracts, seed):
        for s, _, evs in a.streams:
            by_path[a.partition_key].extend({"type": t, "subject": s, "data": d} for t, d in evs)
    return list(by_path.values())


def _profiled(enabled: bool, fn):
    if not enabled:
        return fn()
    prof = cProfile.Profile()
    result = prof.runcall(fn)
    pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    return result


def main(paths: int = 10_000, contracts: int = 0, seed: int = 9, profile: str = "", dump: str = "",
         repeat: int = 3):
    request = simulation_request(paths, seed)
    raw = json.dumps(request)
    print(f"simulation: {paths:,} paths, {len(request['events']):,} events, {len(raw) / 1e6:.1f} MB of JSON")
    best = defaultdict(lambda: float("inf"))
    for i in range(repeat):
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        started = CLOCK()
        result = _profiled(i == 0 and profile == "whole", lambda: simulate_json(raw, TODAY))
        del result
        gc.collect(0)     # the collection it leaves pending (its answer's objects), counted in
        best["simulate_json"] = min(best["simulate_json"], CLOCK() - started)
        if i == 0:        # the first run's new pages (the bench runs it once, in a fresh heap)
            first = (CLOCK() - started, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults)
        gc.collect()
        with collection_paused():
            started = CLOCK()
            payload = orjson.loads(raw)
            loaded_at = CLOCK()
            parsed = _profiled(i == 0 and profile == "parse", lambda: parse_simulation(payload))
            del payload
            parsed_at = CLOCK()
            result = _profiled(i == 0 and profile == "compute", lambda: simulate(parsed, TODAY))
            done = CLOCK()
            del parsed
        for name, spent in (("decode", loaded_at - started), ("validate", parsed_at - loaded_at),
                            ("compute", done - parsed_at)):
            best[name] = min(best[name], spent)
        gc.collect()
    print(f"  simulate_json {best['simulate_json']:.3f} s (the bench's figure); its parts: decode {best['decode']:.3f} s, "
          f"validate {best['validate']:.3f} s, compute {best['compute']:.3f} s (CPU, best of {repeat}); "
          f"the first run {first[0]:.3f} s, {first[1]:,} page faults, peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if dump:
        with open(dump, "wb") as f:
            f.write(orjson.dumps(result, option=orjson.OPT_SORT_KEYS))
        print(f"  answer written to {dump}")
    if contracts:
        by_path = history_paths(contracts, seed)
        referential = Referential(seed_values=dict(seed_values()))
        events = sum(len(p) for p in by_path)
        started = CLOCK()
        _profiled(profile == "rebuild", lambda: [compute(p, referential, TODAY) for p in by_path])
        elapsed = CLOCK() - started
        print(f"rebuild's use: {len(by_path):,} paths, {events:,} events: {elapsed:.3f} s CPU, "
              f"{elapsed / len(by_path) * 1e6:.1f} µs a path, {elapsed / events * 1e6:.1f} µs an event")
        chunks = [[e for p in by_path[i:i + PATHS_PER_CHUNK] for e in p]
                  for i in range(0, len(by_path), PATHS_PER_CHUNK)]
        best_chunked = float("inf")
        for _ in range(repeat):
            gc.collect()
            started = CLOCK()
            with collection_paused():
                for chunk in chunks:
                    compute(chunk, referential, TODAY)
                    gc.collect(0)
            best_chunked = min(best_chunked, CLOCK() - started)
        print(f"  as bulk_rebuild runs it (chunks of {PATHS_PER_CHUNK:,} paths, collector paused): "
              f"{best_chunked:.3f} s CPU, {best_chunked / len(by_path) * 1e6:.1f} µs a path (best of {repeat})")


if __name__ == "__main__":
    typer.run(main)
