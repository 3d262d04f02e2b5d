"""How margins let a reader recover a suppressed count, and the secondary suppression that stops it.

A published cross-tabulation is a set of counts tied together by *lines*: each line says that
one count (a row total, a column total, the grand total) is the sum of others. Suppressing a
small count is not enough when the rest of its line is published: subtraction gives it back.

**The reader we defend against** knows the disclosure rule, sees every published count and
every margin, and sees which counts are suppressed (one symbol, not the reason). From that
alone the reader knows, for every count:

- a published count without rounding: exactly its value;
- a published count with rounding: the range of true counts the rule shows as that number
  (``DisclosureRule.possible_counts``), unless a rate or other figure published beside it gives
  the exact count back, in which case exactly its value;
- a suppressed count: at least 1 when the rule publishes zeros (a zero would have been shown,
  and secondary suppression never picks a zero), at least 0 otherwise; no upper limit;

and that every line adds up. The reader's best deduction about a suppressed count is the
smallest and largest value it can take subject to all of that: a linear programme.

**What we guarantee**: for every suppressed count that range holds at least two whole numbers,
so no suppressed count is recovered exactly, small or not. We do not promise a wide range (with
rounding a small count may be narrowed to, say, 1-4), nor protection from a reader who also
knows which suppressed counts were small rather than suppressed to protect another, or who
combines this table with other tables.

**Why a graph.** Every table we handle (a list with a total; a two-way table with row totals,
column totals and a grand total, or any subset) has each count in at most two lines. Then the
lines are the nodes of a graph, each count is an edge, and "every line adds up" is "flow is
conserved at every node" once the edges are oriented consistently (the line equations form a
network matrix). Moving a suppressed count by one while keeping every line in balance means
pushing one unit of flow round a cycle through its edge, within every other count's range.
So a suppressed count is safe exactly when the residual graph has a cycle through its edge,
which is a breadth-first search, not a linear programme, and the largest possible move is a
maximum flow. Network matrices are totally unimodular, so these whole-number answers are the
linear programme's answers; the tests check that against ``scipy.optimize.linprog``.

**Secondary suppression**: while some suppressed count has no such cycle, suppress the
published counts on the cheapest path that closes one, where a count's cost is its value (so
the smallest publishable counts are lost first) and counts already flexible (suppressed, or
rounded) cost nothing. Suppressing a count only widens what the reader must consider, so a
count made safe stays safe, and the loop ends. It always can end: with every non-zero count
suppressed, any suppressed count can rise together with the totals above it.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass
from typing import Iterator, Sequence

from triangulate.disclosure.rules import DisclosureRule

UNBOUNDED = math.inf


@dataclass(frozen=True)
class Line:
    """One margin line: ``total`` is the sum of ``members`` (indices of counts in a table)."""

    total: int
    members: tuple[int, ...]


@dataclass(frozen=True)
class Protection:
    """The outcome for one table of counts: which were suppressed, and what a reader can infer.

    ``readable_ranges`` holds, when asked for, the lowest and highest value a reader can deduce
    for each suppressed count from the published table (``None`` for no upper limit).
    """

    primary: frozenset[int]
    secondary: frozenset[int]
    readable_ranges: dict[int, tuple[int, int | None]]


class MarginNetwork:
    """The counts of a table as edges of a graph whose nodes are its margin lines.

    Counts in no line are self-loops on a spare node (free to move within their own range);
    counts in one line join it to the spare node, whose own balance follows from all the others.
    """

    def __init__(self, count_total: int, lines: Sequence[Line]) -> None:
        memberships: list[list[tuple[int, int]]] = [[] for _ in range(count_total)]
        for number, line in enumerate(lines):
            memberships[line.total].append((number, +1))
            for member in line.members:
                memberships[member].append((number, -1))
        if any(len(m) > 2 for m in memberships):
            raise ValueError("a count may belong to at most two margin lines")
        orientation = _orient_lines(len(lines), memberships)
        spare = len(lines)
        self.node_total = len(lines) + 1
        self.tail: list[int] = []
        self.head: list[int] = []
        for member_of in memberships:
            ends = {+1: spare, -1: spare}
            for number, sign in member_of:
                ends[orientation[number] * sign] = number
            # A count flows out of the line where it enters with sign -1, into the one with +1.
            self.tail.append(ends[-1])
            self.head.append(ends[+1])


def _orient_lines(line_total: int, memberships: list[list[tuple[int, int]]]) -> list[int]:
    """Give each line a sign so that every shared count enters its two lines with opposite signs."""
    neighbours: list[list[tuple[int, int]]] = [[] for _ in range(line_total)]
    for member_of in memberships:
        if len(member_of) == 2:
            (first, first_sign), (second, second_sign) = member_of
            relation = -first_sign * second_sign
            neighbours[first].append((second, relation))
            neighbours[second].append((first, relation))
    orientation = [0] * line_total
    for start in range(line_total):
        if orientation[start]:
            continue
        orientation[start] = 1
        queue = deque([start])
        while queue:
            line = queue.popleft()
            for other, relation in neighbours[line]:
                wanted = orientation[line] * relation
                if not orientation[other]:
                    orientation[other] = wanted
                    queue.append(other)
                elif orientation[other] != wanted:
                    raise ValueError("these margin lines cannot be checked as one network")
    return orientation


def protect_counts(
    counts: Sequence[int],
    lines: Sequence[Line],
    rule: DisclosureRule,
    exact_to_reader: Sequence[bool] | None = None,
    with_readable_ranges: bool = False,
) -> Protection:
    """Primary suppression, then secondary suppression until no suppressed count can be recovered.

    ``counts`` are the true (unrounded) counts, totals included; ``lines`` say which are sums of
    which; ``exact_to_reader`` marks counts whose exact value a reader could get back from other
    published figures (a rate with its denominator), so rounding does not protect them.
    ``with_readable_ranges`` also works out each suppressed count's readable range: one maximum
    flow per direction per suppressed count, which takes seconds on tables of a thousand cells.
    """
    network = MarginNetwork(len(counts), lines)
    exact = list(exact_to_reader) if exact_to_reader is not None else [False] * len(counts)
    primary = {i for i, count in enumerate(counts) if rule.is_small(count)}
    suppressed = set(primary)
    bounds = reader_bounds(counts, suppressed, exact, rule)
    # One full check, then only the exposed counts again: a safe count stays safe when more is
    # suppressed, and every count on a newly closed cycle (the new suppressions too) is safe.
    for i in [i for i in sorted(suppressed) if not _can_move(network, counts, bounds, i)]:
        if _can_move(network, counts, bounds, i):
            continue
        suppressed |= _cheapest_cover(network, counts, bounds, suppressed, i, rule)
        bounds = reader_bounds(counts, suppressed, exact, rule)
    ranges = {}
    if with_readable_ranges:
        ranges = {i: readable_range(network, counts, bounds, i) for i in sorted(suppressed)}
    return Protection(frozenset(primary), frozenset(suppressed - primary), ranges)


def reader_bounds(
    counts: Sequence[int],
    suppressed: set[int] | frozenset[int],
    exact_to_reader: Sequence[bool],
    rule: DisclosureRule,
) -> list[tuple[int, float]]:
    """What a reader knows about each count on its own, as an inclusive range."""
    bounds: list[tuple[int, float]] = []
    for i, count in enumerate(counts):
        if i in suppressed:
            bounds.append((rule.smallest_suppressed_count, UNBOUNDED))
        elif exact_to_reader[i] or not rule.rounds:
            bounds.append((count, count))
        else:
            bounds.append(rule.possible_counts(rule.shown_count(count)))
    return bounds


def _residual_arcs(
    network: MarginNetwork, counts: Sequence[int], bounds: Sequence[tuple[int, float]], leave_out: int
) -> Iterator[tuple[int, int, float, int]]:
    """Each way one unit of flow can move along a count: (from node, to node, room, count)."""
    for i, count in enumerate(counts):
        if i == leave_out:
            continue
        lowest, highest = bounds[i]
        if count + 1 <= highest:
            yield network.tail[i], network.head[i], highest - count, i
        if count - 1 >= lowest:
            yield network.head[i], network.tail[i], count - lowest, i


def _reachable(node_total: int, arcs: Sequence[tuple[int, int, float, int]], start: int, goal: int) -> bool:
    if start == goal:
        return True
    onward: list[list[int]] = [[] for _ in range(node_total)]
    for source, target, _, _ in arcs:
        onward[source].append(target)
    seen = {start}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for target in onward[node]:
            if target == goal:
                return True
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return False


def _can_move(
    network: MarginNetwork, counts: Sequence[int], bounds: Sequence[tuple[int, float]], i: int
) -> bool:
    """Whether count ``i`` can take another whole value with every line still adding up."""
    arcs = list(_residual_arcs(network, counts, bounds, i))
    lowest, highest = bounds[i]
    tail, head = network.tail[i], network.head[i]
    can_rise = counts[i] + 1 <= highest and _reachable(network.node_total, arcs, head, tail)
    can_fall = counts[i] - 1 >= lowest and _reachable(network.node_total, arcs, tail, head)
    return can_rise or can_fall


def _cheapest_cover(
    network: MarginNetwork,
    counts: Sequence[int],
    bounds: Sequence[tuple[int, float]],
    suppressed: set[int],
    exposed: int,
    rule: DisclosureRule,
) -> set[int]:
    """The published counts whose suppression closes the cheapest safe cycle through ``exposed``."""
    # Cost is value first, then number of counts, so ties go to losing fewer cells.
    per_count = len(counts) + 1
    arcs: list[tuple[int, int, int, int]] = []
    current = {(start, end, i) for start, end, _, i in _residual_arcs(network, counts, bounds, exposed)}
    for start, end, i in current:
        arcs.append((start, end, 0, i))
    for i, count in enumerate(counts):
        if i == exposed or i in suppressed or count == 0:
            continue
        cost = count * per_count + 1
        tail, head = network.tail[i], network.head[i]
        # Once suppressed, a count can always rise, and fall while it stays above the floor.
        if (tail, head, i) not in current:
            arcs.append((tail, head, cost, i))
        if count - 1 >= rule.smallest_suppressed_count and (head, tail, i) not in current:
            arcs.append((head, tail, cost, i))
    lowest, highest = bounds[exposed]
    tail, head = network.tail[exposed], network.head[exposed]
    options = []
    if counts[exposed] + 1 <= highest:
        options.append(_cheapest_path(network.node_total, arcs, head, tail))
    if counts[exposed] - 1 >= lowest:
        options.append(_cheapest_path(network.node_total, arcs, tail, head))
    found = [option for option in options if option is not None]
    if not found:
        raise RuntimeError("no secondary suppression can protect this count")  # unreachable, see module
    _, used = min(found, key=lambda option: option[0])
    cover = {i for cost, i in used if cost > 0}
    if not cover:
        raise RuntimeError("a count found exposed needs no cover")  # would loop for ever
    return cover


def _cheapest_path(
    node_total: int, arcs: Sequence[tuple[int, int, int, int]], start: int, goal: int
) -> tuple[int, list[tuple[int, int]]] | None:
    """Dijkstra over the arcs; returns (cost, [(arc cost, count), ...]) or None."""
    onward: list[list[tuple[int, int, int]]] = [[] for _ in range(node_total)]
    for source, target, cost, i in arcs:
        onward[source].append((target, cost, i))
    if start == goal:
        return 0, []
    best = {start: 0}
    came_by: dict[int, tuple[int, int, int]] = {}
    heap = [(0, start)]
    while heap:
        cost_so_far, node = heapq.heappop(heap)
        if node == goal:
            used = []
            while node != start:
                previous, cost, i = came_by[node]
                used.append((cost, i))
                node = previous
            return cost_so_far, used
        if cost_so_far > best.get(node, math.inf):
            continue
        for target, cost, i in onward[node]:
            total = cost_so_far + cost
            if total < best.get(target, math.inf):
                best[target] = total
                came_by[target] = (node, cost, i)
                heapq.heappush(heap, (total, target))
    return None


def readable_range(
    network: MarginNetwork, counts: Sequence[int], bounds: Sequence[tuple[int, float]], i: int
) -> tuple[int, int | None]:
    """The lowest and highest value a reader can deduce for count ``i`` (None: no upper limit)."""
    arcs = list(_residual_arcs(network, counts, bounds, i))
    lowest, highest = bounds[i]
    tail, head = network.tail[i], network.head[i]
    rise = min(highest - counts[i], _maximum_flow(network.node_total, arcs, head, tail))
    fall = min(counts[i] - lowest, _maximum_flow(network.node_total, arcs, tail, head))
    return int(counts[i] - fall), None if rise == UNBOUNDED else int(counts[i] + rise)


def _maximum_flow(
    node_total: int, arcs: Sequence[tuple[int, int, float, int]], source: int, sink: int
) -> float:
    """Edmonds-Karp maximum flow; infinite when a path of unlimited room exists."""
    if source == sink:
        return UNBOUNDED
    unlimited = [arc for arc in arcs if arc[2] == UNBOUNDED]
    if _reachable(node_total, unlimited, source, sink):
        return UNBOUNDED
    room: list[dict[int, float]] = [{} for _ in range(node_total)]
    for start, end, capacity, _ in arcs:
        if start != end:
            room[start][end] = room[start].get(end, 0) + capacity
            room[end].setdefault(start, 0)
    flow = 0.0
    while True:
        came_from = {source: source}
        queue = deque([source])
        while queue and sink not in came_from:
            node = queue.popleft()
            for target, capacity in room[node].items():
                if capacity > 0 and target not in came_from:
                    came_from[target] = node
                    queue.append(target)
        if sink not in came_from:
            return flow
        path = []
        node = sink
        while node != source:
            path.append((came_from[node], node))
            node = came_from[node]
        bottleneck = min(room[start][end] for start, end in path)
        for start, end in path:
            room[start][end] -= bottleneck
            room[end][start] += bottleneck
        flow += bottleneck
