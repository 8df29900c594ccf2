"""The throughput benchmark's verdict (bench/throughput.py): which of the issue's targets a run
missed. Pure: built from measured figures, nothing is run."""

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.append(str(BENCH))

from loadgen import PhaseStats  # noqa: E402
from throughput import Result, targets, verdict  # noqa: E402


def measured(key: str, rate: float, latency_ms: float = 10.0) -> Result:
    updates = 1000
    stats = PhaseStats(latencies=[latency_ms / 1000] * updates, updates=updates)
    stats.seconds = updates / rate
    return Result(targets()[key].title, stats)


@pytest.mark.parametrize("with_persisting_echo", [False, True])
def test_careerbot_on_sqlite_is_judged_against_the_bare_echo_bot(
    with_persisting_echo: bool,
) -> None:
    """Another target on SQLite (the persisting echo bot, at half the rate) must not stand in
    for careerbot."""
    results = [measured("echo", 800)]
    if with_persisting_echo:
        results.append(measured("echo-db", 420))
    results.append(measured("sqlite", 240))
    missed = verdict(results)
    assert missed == ["careerbot on SQLite: 0.30× the echo bot's updates/s (target ≥ 0.5×)"]


def test_a_run_that_meets_every_target_misses_nothing() -> None:
    assert verdict([measured("echo", 800), measured("sqlite", 420)]) == []


def test_a_p99_of_100_ms_or_more_is_reported_for_its_target() -> None:
    missed = verdict([measured("echo", 800, latency_ms=150), measured("sqlite", 420)])
    assert missed == ["echo bot (bare aiogram): p99 150 ms (target < 100)"]
