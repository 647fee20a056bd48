"""The CPU accounting of the benchmark (bench/cpu_accounting.py): /proc's lines parsed, each
process given to its group, the difference of two samples, the per-call arithmetic."""
import pytest

from bench import cpu_accounting
from bench.cpu_accounting import (BENCH, KAFKA, OTHER_DATABASES, POSTGRES, Sample, Stat, Usage, assign,
                                  backend_database, between, describe, found_roots, groups_of, machine_busy,
                                  parse_stat)

@pytest.fixture(autouse=True)
def ticks_of_10_ms(monkeypatch):
    monkeypatch.setattr(cpu_accounting, "TICK", 100)   # the usual clock tick, whatever this machine's


# fields 3 to 22 of proc(5) after the name: state ppid pgrp session tty tpgid flags minflt cminflt majflt
# cmajflt utime stime cutime cstime priority nice threads itrealvalue starttime
STAT = "{pid} ({comm}) S {ppid} 1 1 0 -1 4194304 101 0 0 0 {u} {s} {cu} {cs} 20 0 1 0 {start} 3133440 389"


def line(pid, comm, ppid, u=0, s=0, cu=0, cs=0, start=70693):
    return STAT.format(pid=pid, comm=comm, ppid=ppid, u=u, s=s, cu=cu, cs=cs, start=start)


def test_a_stat_line_gives_its_parent_its_times_and_its_start_whatever_brackets_its_name_holds():
    assert parse_stat(line(42, "postgres", 7, u=13, s=4, cu=100, cs=20, start=99)) == Stat(42, 7, "postgres", 17,
                                                                                           99, 120)
    odd = parse_stat(line(43, "a) b (c", 8, u=1, s=2, cu=3, cs=4))
    assert (odd.comm, odd.ppid, odd.own, odd.started, odd.reaped) == ("a) b (c", 8, 3, 70693, 7)


def test_the_machine_is_busy_on_every_tick_but_the_idle_and_waiting_ones():
    # user nice system idle iowait irq softirq steal guest guest_nice
    assert machine_busy("cpu  50832 5 10758 75860 693 7 1497 58 0 0") == 50832 + 5 + 10758 + 7 + 1497


def stats(*rows):
    return {s.pid: s for s in (Stat(pid, ppid, comm, own) for pid, ppid, comm, own in rows)}


def test_each_process_goes_to_its_nearest_root_and_the_rest_of_the_machine_to_none():
    table = stats((1, 0, "init", 0), (10, 1, "python", 0), (11, 10, "uvicorn", 0),
                  (12, 11, "python", 0), (13, 10, "java", 0), (20, 1, "bash", 0))
    groups = assign(table, {10: BENCH, 11: "contracts"})
    # the service is the load generator's child but its own group; the tool it ran is the generator's
    assert groups == {10: BENCH, 11: "contracts", 12: "contracts", 13: BENCH}


def test_a_cycle_in_the_parents_ends_the_walk():
    assert assign(stats((5, 6, "x", 0), (6, 5, "y", 0)), {1: BENCH}) == {}


TITLES = {100: "/usr/lib/postgresql/15/bin/postgres -D /work/main/.data/pg -p 5432",
          101: "postgres: walwriter ", 102: "postgres: parcours parcours_bench_live_1 127.0.0.1(5810) idle",
          103: "postgres: parcours parcours_t_9 127.0.0.1(5811) INSERT", 104: "postgres: u parcours [local] idle",
          200: "java -Xmx768m -cp libs/* kafka.Kafka config", 300: "java -cp libs/* ConsumerPerformance"}
SERVERS = stats((1, 0, "init", 0), (100, 1, "postgres", 0), (101, 100, "postgres", 0), (102, 100, "postgres", 0),
                (103, 100, "postgres", 0), (104, 100, "postgres", 0), (200, 1, "java", 0), (300, 1, "java", 0))


def test_the_servers_are_found_by_their_process():
    assert found_roots(SERVERS, lambda pid: TITLES.get(pid, "")) == {100: POSTGRES, 200: KAFKA}


def test_a_backend_of_another_database_is_not_the_benchmarks():
    assert backend_database(TITLES[102]) == "parcours_bench_live_1" and backend_database(TITLES[104]) == "parcours"
    assert backend_database(TITLES[101]) is None and backend_database(TITLES[100]) is None
    title = lambda pid: TITLES.get(pid, "")  # noqa: E731
    groups = groups_of(SERVERS, found_roots(SERVERS, title), {"parcours_bench_live_1"}, title)
    # the postmaster, its walwriter, the benchmark's backend; the tests' and the stack's own apart
    assert groups == {100: POSTGRES, 101: POSTGRES, 102: POSTGRES, 103: OTHER_DATABASES, 104: OTHER_DATABASES,
                      200: KAFKA}


def test_a_backend_that_ends_in_the_window_is_counted_once_through_its_postmaster():
    # the postmaster's ticks hold its ended children's (cutime); a backend's heir is its postmaster's group
    before = Sample(0.0, {(100, 1): (POSTGRES, 1050, None), (101, 1): (POSTGRES, 30, POSTGRES),
                          (102, 1): (POSTGRES, 5, POSTGRES), (104, 1): (BENCH, 40, None)}, 0)
    # 101 ended at 80 ticks (the postmaster's +80 and its own +10), 102 went on to 25, 103 started and
    # ended at 4 (+4), pid 105 is new at 7; 104, the load generator's child, ended: its ticks are lost
    after = Sample(1.0, {(100, 1): (POSTGRES, 1050 + 10 + 80 + 4, None), (102, 1): (POSTGRES, 25, POSTGRES),
                         (105, 9): (POSTGRES, 7, POSTGRES)}, 0)
    assert between(before, after, cpus=2).cpu == {POSTGRES: (10 + 50 + 20 + 4 + 7) / 100}


def test_the_other_databases_backends_are_apart_from_the_stacks_total():
    before = Sample(0.0, {(1, 0): (POSTGRES, 100, None), (2, 0): (OTHER_DATABASES, 10, POSTGRES)}, 0)
    after = Sample(1.0, {(1, 0): (POSTGRES, 150, None), (2, 0): (OTHER_DATABASES, 90, POSTGRES)}, 0)
    usage = between(before, after, cpus=2)
    assert usage.cpu == {POSTGRES: 0.5} and usage.others == {OTHER_DATABASES: 0.8} and usage.total == 0.5
    assert "PostgreSQL, other databases 0.8 CPU-s, not counted" in describe(usage.summary(10))
    assert "not counted" not in describe(usage.summary(10) | {"others_cpu_s": {OTHER_DATABASES: 0.04}})


def usage():
    # 4 s on 2 CPUs, 1,000 calls: ticks of 10 ms
    return between(Sample(10.0, {(1, 0): ("contracts", 100, None), (2, 0): (POSTGRES, 50, None)}, 1000),
                   Sample(14.0, {(1, 0): ("contracts", 250, None), (2, 0): (POSTGRES, 100, None),
                                 (3, 0): (KAFKA, 10, None)}, 1300), cpus=2)


def test_the_difference_of_two_samples_per_call_and_against_the_capacity():
    u = usage()
    assert u.cpu == {"contracts": 1.5, POSTGRES: 0.5, KAFKA: 0.1}   # ticks of 10 ms
    assert abs(u.total - 2.1) < 1e-9 and u.seconds == 4.0 and u.machine == 3.0
    assert abs(u.per_call_ms(1000)["contracts"] - 1.5) < 1e-9
    assert abs(u.ceiling(1000) - 2 * 1000 / 2.1) < 1e-9          # 2 CPUs / 2.1 ms a call
    assert abs(u.utilisation - 2.1 / 8) < 1e-9 and abs(u.machine_utilisation - 3 / 8) < 1e-9


def test_no_cpu_spent_has_no_ceiling():
    assert Usage(1.0, {BENCH: 0.0}, {}, 0.0, 2).ceiling(10) is None


def test_the_summary_line_says_where_the_time_goes():
    summary = usage().summary(1000)
    assert summary["total_ms_per_call"] == 2.1 and summary["ceiling_per_s"] == 952.4
    line_ = describe(summary)
    assert "CPU 2.10 ms a call" in line_ and "contracts 1.50" in line_ and "at most 952/s" in line_
    assert "26% of the CPUs, the whole machine 38%" in line_
    sending = describe(summary | {"sending": {"utilisation": 0.9, "machine_utilisation": 0.95}})
    assert "90% of the CPUs while sending, the whole machine 95%" in sending


def test_a_record_read_is_counted_in_microseconds():
    text = describe(usage().summary(1_000_000, "record"))
    assert "CPU 2.10 µs a record in all processes (contracts 1.50," in text and "over 1,000,000 records" in text
