"""Running several sources at once: each starts as soon as the sources it needs have loaded.

Most of a source's time is spent waiting (on HTTP, on a vendor's quota), so a few run side by side
even on two cores. `workers` sources run at once; a paced source (one that waits on its vendor's
rate limit, e.g. Sirene's 30 calls a minute) runs beside them without taking a worker, so a long
quota never holds up the rest. `workers=1` is the plain sequential run, in load order.

A failing source never stops the others: its dependants are not run (skipped, naming the need that
failed) and everything else still loads. The caller gets one outcome per source, in load order.

Ctrl-C or SIGTERM (on the main thread): no new source starts; the running ones stop at dlt's next
signal check, and what they extracted stays as pending packages the next run finishes first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from dlt.common.runtime import signals

LOADED, FAILED, SKIPPED = "loaded", "failed", "skipped"


@dataclass
class Outcome:
    source: str
    status: str  # loaded, failed or skipped
    result: object = None  # what `run` returned (a LoadResult), when loaded
    error: BaseException | None = None  # why it failed
    blocked_by: tuple[str, ...] = ()  # when skipped: the needs that did not load ("" when interrupted)
    started: float = 0.0  # time.monotonic() at start and end (0 when skipped)
    ended: float = 0.0
    thread: str = ""

    @property
    def seconds(self) -> float:
        return self.ended - self.started if self.started else 0.0


@dataclass
class Schedule:
    """What runs when: the sources in load order, their needs among them, and which are paced."""

    order: list[str]
    needs: dict[str, tuple[str, ...]]
    paced: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, order: list[str], needs: Callable[[str], Iterable[str]], paced: Iterable[str] = ()) -> Schedule:
        requested = set(order)
        return cls(
            order=order,
            needs={name: tuple(n for n in needs(name) if n in requested) for name in order},
            paced=frozenset(paced) & requested,
        )


def run_sources(
    schedule: Schedule,
    run: Callable[[str], object],
    workers: int,
    on_start: Callable[[str], None] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Run every source of `schedule` with `run(name)`, `workers` at a time; one outcome each, in load order.

    `on_start` is called in the source's own thread as it starts, `on_outcome` in the caller's thread
    as each source ends (or is skipped), in the order they end."""
    outcomes: dict[str, Outcome] = {}

    def record(outcome: Outcome) -> None:
        outcomes[outcome.source] = outcome
        if on_outcome is not None:
            on_outcome(outcome)

    def attempt(name: str) -> Outcome:
        if signals.was_signal_received():  # queued before the signal came: not started
            return Outcome(name, SKIPPED, blocked_by=("",))
        if on_start is not None:
            on_start(name)
        started = time.monotonic()
        thread = threading.current_thread().name
        try:
            result = run(name)
        except Exception as exc:  # recorded: the caller names every failure once all have ended
            return Outcome(name, FAILED, error=exc, started=started, ended=time.monotonic(), thread=thread)
        return Outcome(name, LOADED, result=result, started=started, ended=time.monotonic(), thread=thread)

    def blocked(name: str) -> tuple[str, ...]:
        return tuple(n for n in schedule.needs[name] if n in outcomes and outcomes[n].status != LOADED)

    if workers <= 1:
        for name in schedule.order:
            if signals.was_signal_received():
                record(Outcome(name, SKIPPED, blocked_by=("",)))
            elif needs_failed := blocked(name):
                record(Outcome(name, SKIPPED, blocked_by=needs_failed))
            else:
                record(attempt(name))
        return [outcomes[name] for name in schedule.order]

    waiting = list(schedule.order)
    running: dict[Future, str] = {}
    paced_workers = max(1, len(schedule.paced))
    with (
        signals.intercepted_signals(),
        ThreadPoolExecutor(workers, thread_name_prefix="ingest") as pool,
        ThreadPoolExecutor(paced_workers, thread_name_prefix="ingest-paced") as paced_pool,
    ):
        while waiting or running:
            progressed = False
            for name in list(waiting):
                if signals.was_signal_received():
                    waiting.remove(name)
                    record(Outcome(name, SKIPPED, blocked_by=("",)))
                    progressed = True
                elif needs_failed := blocked(name):
                    waiting.remove(name)
                    record(Outcome(name, SKIPPED, blocked_by=needs_failed))
                    progressed = True
                elif all(n in outcomes for n in schedule.needs[name]):
                    waiting.remove(name)
                    # queued in load order: a worker takes the next as soon as it is free
                    running[(paced_pool if name in schedule.paced else pool).submit(attempt, name)] = name
            if not running:
                if not progressed:
                    raise ValueError(f"these sources need each other: {', '.join(waiting)}")
                continue  # what was skipped may skip more
            # a timeout, so that a signal stops new sources even while a long one runs
            done, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                running.pop(future)
                record(future.result())
    return [outcomes[name] for name in schedule.order]
