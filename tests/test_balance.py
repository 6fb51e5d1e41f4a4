"""The balancer's rule on its own: cameras move only when the move evens out the load, a fair fleet
never moves, a joining node gets its share from the most loaded, and moves never swing back."""

from __future__ import annotations

import random

from streetwarden.pipeline.balance import Load, fair_share, free_limit, pulls, worth_moving


def settle(loads: dict[str, list[tuple[str, float]]], caps: dict[str, float], rounds: int = 50) -> int:
    """Let every node ask for cameras, round after round, as the lease keeper does; returns the moves."""
    moved = 0
    for _ in range(rounds):
        changed = False
        for me in sorted(loads):
            others = [Load(n, caps[n], sum(c for _, c in cams)) for n, cams in loads.items() if n != me]
            mine = Load(me, caps[me], sum(c for _, c in loads[me]))
            for cam, owner in pulls(mine, others, {n: list(c) for n, c in loads.items() if n != me}):
                giver = Load(owner, caps[owner], sum(c for _, c in loads[owner]))
                taker = Load(me, caps[me], sum(c for _, c in loads[me]))
                cost = dict(loads[owner])[cam]
                if worth_moving(giver, taker, cost):  # the owner checks the same rule before handing over
                    loads[owner] = [x for x in loads[owner] if x[0] != cam]
                    loads[me].append((cam, cost))
                    moved += 1
                    changed = True
        if not changed:
            return moved
    raise AssertionError(f"no steady state after {rounds} rounds: {loads}")


def test_a_fair_fleet_moves_nothing() -> None:
    loads = {n: [(f"{n}-{i}", 1.0) for i in range(k)] for n, k in (("a", 4), ("b", 4), ("c", 5))}  # 13 over 3
    assert settle(loads, {"a": 10, "b": 10, "c": 10}) == 0


def test_a_joining_node_takes_its_share_with_the_fewest_moves() -> None:
    loads = {n: [(f"{n}-{i}", 1.0) for i in range(4)] for n in "abc"}
    loads["d"] = []
    moved = settle(loads, dict.fromkeys("abcd", 10.0))
    assert moved == 3 and sorted(len(v) for v in loads.values()) == [3, 3, 3, 3]


def test_costs_and_capacities_even_out_and_never_swing_back() -> None:
    rng = random.Random(7)
    caps = {"a": 40.0, "b": 20.0, "c": 20.0, "d": 10.0}
    cams = [(f"cam-{i}", rng.choice([0.5, 1.0, 2.0, 18.0])) for i in range(40)]
    loads = {"a": cams[:], "b": [], "c": [], "d": []}
    settle(loads, {**caps, "a": 1000.0})  # start: a holds everything
    ratio = {n: sum(c for _, c in v) / caps[n] for n, v in loads.items() if n != "a"}
    assert max(ratio.values()) <= 1.0 + 1e-9  # never above capacity
    assert settle(loads, {**caps, "a": 1000.0}) == 0  # settled means settled: a second pass moves nothing


def test_free_cameras_go_up_to_the_fair_share_then_to_capacity_when_left_over() -> None:
    assert fair_share(100, 10, 40) == 25
    assert free_limit(30, 25, starved=False) == 25
    assert free_limit(30, 25, starved=True) == 30
    assert not worth_moving(Load("g", 10, 4), Load("r", 10, 3), 1.0)  # one camera apart: stays
    assert worth_moving(Load("g", 10, 5), Load("r", 10, 3), 1.0)
    assert not worth_moving(Load("g", 10, 9), Load("r", 2, 1.5), 1.0)  # the taker has no room
