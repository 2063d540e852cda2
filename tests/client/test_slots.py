"""``Slots``: the limit on calls in flight (local connections per loop, channels per SSH connection)."""

from __future__ import annotations

import asyncio

import pytest

from airflow_supervisor_async.slots import Slots


async def test_at_most_size_holders_first_come_first_served() -> None:
    slots = Slots(2)
    order: list[int] = []
    holding = 0
    most = 0
    gate = asyncio.Event()

    async def user(i: int) -> None:
        nonlocal holding, most
        async with slots:
            holding += 1
            most = max(most, holding)
            order.append(i)
            await gate.wait()
            holding -= 1

    tasks = [asyncio.create_task(user(i)) for i in range(6)]
    await asyncio.sleep(0.01)
    assert (order, slots.free, slots.waiting) == ([0, 1], 0, 4)
    gate.set()
    await asyncio.gather(*tasks)
    assert order == list(range(6))  # in the order they asked
    assert most == 2
    assert (slots.free, slots.waiting) == (2, 0)


async def test_cancelled_waiters_lose_their_turn_and_no_slot() -> None:
    slots = Slots(1)
    await slots.acquire()
    waiting = [asyncio.create_task(slots.acquire()) for _ in range(3)]
    await asyncio.sleep(0.01)
    for task in waiting[:2]:
        task.cancel()
    await asyncio.gather(*waiting[:2], return_exceptions=True)
    slots.release()  # skips the two cancelled waiters
    await asyncio.wait_for(waiting[2], 1)
    slots.release()
    assert slots.free == 1
    await asyncio.wait_for(slots.acquire(), 1)  # a newcomer is not stuck behind cancelled waiters
    slots.release()
    assert (slots.free, slots.waiting) == (1, 0)


async def test_a_slot_handed_over_to_a_cancelled_waiter_goes_back() -> None:
    slots = Slots(1)
    await slots.acquire()
    waiter = asyncio.create_task(slots.acquire())
    await asyncio.sleep(0.01)
    slots.release()  # handed to the waiter...
    waiter.cancel()  # ... which is cancelled before it resumes
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert slots.free == 1  # not lost
    await asyncio.wait_for(slots.acquire(), 1)


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Slots(0)
