"""Who should run which camera: pure decisions, so the worker, the tests and the benchmark share them.

Loads are compared relative to capacity. A camera moves from node G to node R only if G is still
at least as loaded as R after the move, ((G - c) / capG >= (R + c) / capR): every move strictly
evens out the load, so moves stop, never swing back, and cameras keep their owner while the load
is fair (one camera's worth apart). Free cameras are spread first: a node takes them up to its fair
share of the total, or up to its capacity when they stayed free for a whole round (others full).
"""

from __future__ import annotations

from dataclasses import dataclass

EPS = 1e-9


@dataclass
class Load:
    id: str
    capacity: float
    load: float

    @property
    def ratio(self) -> float:
        return self.load / self.capacity if self.capacity > 0 else float("inf")


def fair_share(total: float, capacity: float, capacities: float) -> float:
    """This node's part of the total cost, in proportion to its capacity."""
    return total * capacity / capacities if capacities > 0 else 0.0


def free_limit(capacity: float, share: float, starved: bool) -> float:
    """Load up to which a node takes free cameras this round."""
    return capacity if starved else min(capacity, share)


def worth_moving(giver: Load, receiver: Load, cost: float) -> bool:
    """Does moving a camera of `cost` from giver to receiver even out the load?"""
    if receiver.load + cost > receiver.capacity + EPS:
        return False
    return (giver.load - cost) / giver.capacity >= (receiver.load + cost) / receiver.capacity - EPS


def pulls(me: Load, others: list[Load], cameras: dict[str, list[tuple[str, float]]], limit: int = 8) -> list[tuple[str, str]]:
    """Cameras `me` should ask for, as (camera, owner): from the most loaded nodes first, while each
    move evens out the load (loads updated as if granted, so one round never over-asks)."""
    me = Load(me.id, me.capacity, me.load)
    view = {o.id: Load(o.id, o.capacity, o.load) for o in others if o.id != me.id}
    asked: list[tuple[str, str]] = []
    offered = {k: list(v) for k, v in cameras.items()}
    while len(asked) < limit and view:
        giver = max(view.values(), key=lambda n: (n.ratio, n.id))
        options = offered.get(giver.id) or []
        choice = next(((cam, cost) for cam, cost in sorted(options, key=lambda x: (x[1], x[0]))
                       if worth_moving(giver, me, cost)), None)
        if choice is None:
            break
        cam, cost = choice
        options.remove(choice)
        asked.append((cam, giver.id))
        giver.load -= cost
        me.load += cost
    return asked
