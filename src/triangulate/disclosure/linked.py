"""Disclosure control of linked tables: every view of a publication controlled as one whole.

Why this module exists: a publication shows the same people in many tables at once. A count of
people by ethnic group in one area and year sits in the table of all areas, the table of the whole
period, the 5-group and the 19-category tables, the table of women by ethnic group, and every one
of them has a total. Controlling each table alone lets a reader take a total and subtract the shown
parts (the attack that recovered 71 to 109 suppressed counts from the first dashboard). Here the
whole publication is one system of **cubes** and **lines**:

- a *cube* holds one quantity (people seen in police custody; people with depression seen in
  prison) over the publication's dimensions (area, year, group). Cells the publication does not
  show (19 categories in one area in one year, say) are *not published* (``exists`` false) but still
  count: a reader knows they are whole numbers of at least zero that add up in their lines;
- a *line* along a dimension says a total is the sum of its members (all areas = the sum of the
  areas; the whole period = the sum of the years; all people = the sum of the 5 groups, = the sum of
  the sexes, ...; a 5-group cell = the sum of its 19 categories; women = the sum of women by ethnic
  group). A reader knows every line;
- *within* links say one cube is contained in another cell by cell (people with a need are among the
  people seen), which a reader also knows.

**What we guarantee** (``DisclosureRule.protection``, P): for every suppressed cell, a reader who
knows every published number (as a range for a rounded one), every line and every link, cannot narrow
it to a range narrower than P. The proof is constructive: each suppressed cell is in a
**certificate**, a second complete set of counts that agrees with everything published (each shown
count still rounds to what is shown; zeros stay zero; cells not published stay at least zero), keeps
every line and link, and differs from the truth by P in that cell, up or down (or by amounts that add
to P in two certificates). The truth and the certificates are all consistent with the publication,
so the reader's range holds them all. Certificates are rational, as a reader's linear programming
is (the audit in ``triangulate.disclosure.audit`` attacks the result that way).

**How certificates are found.** First the *line rule* (whole arrays at a time): every line with a
suppressed cell must have other unreadable cells with room to absorb P, else its smallest published
count that can is suppressed. Then, for each suppressed cell not yet proven: the *hypercube method*
(Repsilber's, GHMiter in Tau-Argus): in each dimension a pattern (the cell against a sibling, or
siblings sharing the move, or the cell with its total), whose outer product balances every line;
the cheapest valid one wins. Where no hypercube is cheap, a *local mixed-integer programme* over the
values near the cell finds the cheapest certificate (Fischetti and Salazar's model, as Tau-Argus's
optimal method uses: one yes-or-no per shown count, costing the whole count if it must be hidden)
over three siblings at each level, then every value while the answer is dear (a free linear programme
first there too); as a last resort the cell and all its totals rise
together with the cubes containing it, which always fits. Published counts are then
rounded by the rule.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from triangulate.disclosure.rules import DisclosureRule

#: Cell status codes in ``Protected.status``.
PUBLISHED = 0
PRIMARY = 1
SECONDARY = 2
ZERO = 3
ABSENT = 4
_EPS = 1e-9
#: A certificate costing more than this (people hidden, weighted) is worth a local programme's search.
EXPENSIVE = 200.0
#: How far (in protection widths) a suppressed count may move in a local programme's certificate.
_BIG_MOVE = 8.0
#: A local programme's time limit; the best certificate found by then is used (or the next method).
_PROGRAMME_SECONDS = 5.0
#: The time limit of the programme over every value of every dimension, the last resort before hiding a
#: view's total. On the 50,000-person demo its windows (5 areas x 8 periods x 150 groups) ran out of 5 s, so
#: the prison group hid the whole period's number of people in prison; given 120 s, none of its 13 cubes'
#: all-people counts for the whole period or all areas is hidden, and the group took 302 s against 267 s
#: (one worker; its 11 such programmes 73 s).
_WHOLE_SECONDS = 120.0
#: The windows (siblings at each level) of the integer programmes, tried in turn while the best certificate
#: is dear. On the 1,000,000-person publication, of 174 cells that needed one, 172 went on from a window of
#: one sibling to two and 149 from two to three; starting at three costs 23 more programmes of three and saves
#: 346 smaller ones (all 80 groups, one core: 229.7 s -> 211.5 s with the whole-window linear programme
#: below; 10,925 -> 10,929 counts suppressed to protect others), and a larger window holds every smaller one's
#: certificates, so its optimum is never dearer.
MILP_WINDOWS = (3,)


@dataclass(frozen=True)
class Dimension:
    """One dimension of every cube: its size and its lines (total index, member indices)."""

    name: str
    size: int
    lines: tuple[tuple[int, tuple[int, ...]], ...]

    def member_lines(self, c: int) -> list[tuple[int, tuple[int, ...]]]:
        return [line for line in self.lines if c in line[1]]

    def total_lines(self, c: int) -> list[tuple[int, tuple[int, ...]]]:
        return [line for line in self.lines if line[0] == c]


@dataclass
class Cube:
    """One quantity over the dimensions; ``exists`` says which cells are published."""

    name: str
    values: np.ndarray
    exists: np.ndarray
    controlled: bool = True
    within: str | None = None
    #: For a cell, per dimension, the values holding one and the same person (or record) of the cell.
    witness: Callable[[tuple[int, ...]], list[set[int]] | None] | None = None
    #: Cells readers rely on most (the totals of every view): suppressed only when nothing else will do.
    precious: np.ndarray | None = None


#: How much more a precious cell costs to suppress than its count.
PRECIOUS = 1000.0


@dataclass
class Protected:
    """The outcome for one cube: status of every cell and the numbers a reader sees (-1: hidden)."""

    status: np.ndarray
    shown: np.ndarray


@dataclass
class ProtectionReport:
    cubes: dict[str, Protected]
    primary: int
    secondary: int
    certificates: int
    programmes: int
    fallbacks: int
    notes: list[str] = field(default_factory=list)


@contextlib.contextmanager
def _quiet_stdout():
    """The process's standard output sent nowhere (a C library's prints go past ``sys.stdout``)."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def highs_model(cost: np.ndarray, lower: np.ndarray, upper: np.ndarray, matrix, row_lower: np.ndarray,
                row_upper: np.ndarray):
    """A ``highspy.Highs`` holding the linear programme min cost·x, row_lower <= matrix x <= row_upper,
    lower <= x <= upper (``matrix`` in CSC; infinite bounds as they are: ``highspy.kHighsInf`` is inf),
    with HiGHS's own output off. Used by the protection here and by the audit (``publish/audit.py``)."""
    import highspy

    with _quiet_stdout():  # the first Highs of a process prints its banner before any option is set
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    model = highspy.HighsLp()
    model.num_col_, model.num_row_ = len(cost), matrix.shape[0]
    model.col_cost_ = np.asarray(cost, dtype=float)
    model.col_lower_, model.col_upper_ = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    model.row_lower_, model.row_upper_ = np.asarray(row_lower, dtype=float), np.asarray(row_upper, dtype=float)
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_, model.a_matrix_.index_, model.a_matrix_.value_ = matrix.indptr, matrix.indices, matrix.data
    model.a_matrix_.num_col_, model.a_matrix_.num_row_ = len(cost), matrix.shape[0]
    h.passModel(model)
    return h


def _solve_lp(cost: np.ndarray, constraints, lower: np.ndarray, upper: np.ndarray,
              presolve: bool, seconds: float = _PROGRAMME_SECONDS, solver: str = "simplex") -> np.ndarray | None:
    """The optimum of a linear programme (no integer variables), or None if it has none.

    HiGHS through ``highspy``, not SciPy's bundled copy: on the 1,000,000-person publication (one
    worker, every feasibility programme) the two-sibling windows took 85.5 s with presolve, against
    93.3 s without and 109.2 s through SciPy; presolve finds most of those without a certificate at
    once (6.2 s against 14.6). The three-sibling windows are larger and mostly do hold one, and there
    presolve costs more than it saves (68.6 s with, 59.5 s without). ``solver="ipm"`` (interior point,
    then crossover to a vertex) for the programme over a whole cube: on the 1,000,000-person publication
    the court group's one such programme took 26.9 s by simplex and 7.2 s by interior point, and the
    demo's people-seen group's 29 took 52.7 s and 28.6 s; on the smaller windows simplex is quicker
    (three siblings: 60 s by simplex, 152 s by interior point on the demo's court group).
    """
    import highspy
    from scipy.sparse import csc_matrix, vstack

    matrix = vstack([c.A for c in constraints]).tocsc() if constraints else csc_matrix((0, len(cost)))

    def bounds(side: str) -> np.ndarray:
        return np.concatenate([np.broadcast_to(np.asarray(getattr(c, side), dtype=float), (c.A.shape[0],))
                               for c in constraints]) if constraints else np.zeros(0)

    # Counts that may not move (a published zero, the cell itself at its move) leave the programme: their
    # values go into the rows' bounds. HiGHS's presolve would do it too, but presolve is off for the larger
    # windows; on the prison group's 465 programmes at 1M people this took 8% off the solver's time.
    fixed = np.asarray(lower, dtype=float) == np.asarray(upper, dtype=float)
    row_lower, row_upper = bounds("lb"), bounds("ub")
    if fixed.any():
        value = np.where(fixed, lower, 0.0)
        shift = matrix @ value
        row_lower, row_upper = row_lower - shift, row_upper - shift
        matrix = matrix[:, ~fixed]
    h = highs_model(np.asarray(cost)[~fixed], np.asarray(lower)[~fixed], np.asarray(upper)[~fixed], matrix,
                    row_lower, row_upper)
    h.setOptionValue("time_limit", seconds)
    h.setOptionValue("presolve", "on" if presolve else "off")
    h.setOptionValue("solver", solver)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    x = np.where(fixed, lower, 0.0)
    x[~fixed] = h.getSolution().col_value
    return x


# --- patterns along one dimension ----------------------------------------------------------------


def _close(dim: Dimension, start: dict[int, float], choose, split: int = 1) -> dict[int, float] | None:
    """Complete ``start`` so that every line of ``dim`` balances, adding members chosen by ``choose``.

    A line whose total carries a weight needs its members to carry the same sum: the first ``split``
    free members by ``choose``'s ranking share it equally. An unbalanced line whose members are all
    taken is closed by moving its total, if that total is in no other line as a member (else None).
    """
    y = dict(start)
    for _ in range(4 * len(dim.lines) + 4):
        changed = False
        for total, members in dim.lines:
            diff = y.get(total, 0) - sum(y.get(m, 0) for m in members)
            if abs(diff) < _EPS:
                continue
            if y.get(total, 0) == 0 and all(y.get(m, 0) == 0 for m in members):
                continue
            free = [m for m in members if y.get(m, 0) == 0]
            if not free:
                if any(total in ms for _, ms in dim.lines):
                    return None
                y[total] = y.get(total, 0) - diff
                changed = True
                continue
            chosen = choose(total, free, min(split, len(free)))
            for m in chosen:
                y[m] = y.get(m, 0) + diff / len(chosen)
            changed = True
        if not changed:
            return y
    return None


def _chooser(order: Sequence[int], witness: set[int] | None = None):
    rank = {v: i for i, v in enumerate(order)}
    witness = witness or set()

    def choose(total: int, free: list[int], k: int) -> list[int]:
        return sorted(free, key=lambda m: (m not in witness, rank.get(m, len(rank))))[:k]

    return choose


def dimension_patterns(dim: Dimension, c: int, order: Sequence[int], limit: int = 2) -> list[dict[int, float]]:
    """Candidate patterns for coordinate ``c`` along ``dim``: siblings first, shared moves, the total last.

    ``order`` ranks the values by preference (suppressed with room first, then by value) for the
    free choices.
    """
    choose = _chooser(order)
    rank = {v: i for i, v in enumerate(order)}
    out: list[dict[int, float]] = []

    def add(y):
        if y is not None and y not in out:
            out.append(y)

    lines = dim.member_lines(c)
    if lines:
        total, members = lines[0]
        siblings = sorted((m for m in members if m != c), key=lambda m: rank.get(m, len(rank)))
        for s in siblings[:limit]:
            add(_close(dim, {c: 1, s: -1}, choose))
        for k in sorted({min(3, len(siblings)), len(siblings)}):
            if k >= 2:
                add(_close(dim, {c: 1, **{s: -1.0 / k for s in siblings[:k]}}, choose, split=k))
        add(_close(dim, {c: 1, total: 1}, choose))
    else:
        for k in (1, 3, 99):
            add(_close(dim, {c: 1}, choose, split=k))
    return out


def ancestor_pattern(dim: Dimension, c: int, order: Sequence[int],
                     witness: set[int] | None = None) -> dict[int, float] | None:
    """The all-plus pattern: ``c`` and every total above it raised, members by the witness."""
    start = {c: 1}
    frontier = [c]
    while frontier:
        node = frontier.pop()
        for total, _ in dim.member_lines(node):
            if total not in start:
                start[total] = 1
                frontier.append(total)
    return _close(dim, start, _chooser(order, witness))


def rounded(values: np.ndarray, rule: DisclosureRule) -> np.ndarray:
    """Counts as the rule shows them (half up to the base, never below the smallest shown count)."""
    values = np.asarray(values, dtype=np.int64)
    if not rule.rounds:
        return values.copy()
    base = rule.rounding_base
    out = base * ((2 * values + base) // (2 * base))
    return np.where(values == 0, 0, np.maximum(out, rule.smallest_shown_count))


def rounding_interval(values: np.ndarray, rule: DisclosureRule) -> tuple[np.ndarray, np.ndarray]:
    """Every true count a reader could take a published count for, as (lowest, highest) arrays."""
    values = np.asarray(values, dtype=np.int64)
    if not rule.rounds:
        return values.copy(), values.copy()
    shown = rounded(values, rule)
    base = rule.rounding_base
    high = shown + (base + 1) // 2 - 1
    low = np.where(shown == rule.smallest_shown_count, rule.suppress_below,
                   np.maximum(shown - base // 2, rule.suppress_below))
    small = values < rule.suppress_below
    return np.where(small, values, low), np.where(small, values, high)


# --- the protection ------------------------------------------------------------------------------


class _Linked:
    def __init__(self, dims: Sequence[Dimension], cubes: dict[str, Cube], rule: DisclosureRule, width: int):
        self.dims = list(dims)
        self.n = len(dims)
        self.cubes = cubes
        self.rule = rule
        self.width = float(width)
        self.floor = rule.smallest_suppressed_count
        self._lines_cache: dict = {}
        self.children: dict[str, list[str]] = {name: [] for name in cubes}
        for name, cube in cubes.items():
            if cube.within is not None:
                if cube.within not in cubes:
                    raise ValueError(f"cube {name!r} is within {cube.within!r}, which is not given")
                self.children[cube.within].append(name)
            seen, node = {name}, cube.within
            while node is not None:
                if node in seen:
                    raise ValueError(f"cube {name!r} is within itself through {node!r}")
                seen.add(node)
                node = cubes[node].within
        self.status: dict[str, np.ndarray] = {}
        self.rise: dict[str, np.ndarray] = {}
        self.fall: dict[str, np.ndarray] = {}
        self.down: dict[str, np.ndarray] = {}
        self.up: dict[str, np.ndarray] = {}
        for name, cube in cubes.items():
            status = np.full(cube.values.shape, PUBLISHED, dtype=np.int8)
            status[~cube.exists] = ABSENT
            status[cube.exists & (cube.values == 0)] = ZERO
            if cube.controlled:
                status[cube.exists & (cube.values > 0) & (cube.values < rule.suppress_below)] = PRIMARY
                if not rule.publish_zero:
                    status[cube.exists & (cube.values == 0)] = PRIMARY
            self.status[name] = status
            self.rise[name] = np.zeros(cube.values.shape)
            self.fall[name] = np.zeros(cube.values.shape)
            low, high = rounding_interval(cube.values, rule)
            self.down[name] = cube.values - low
            self.up[name] = high - cube.values
        # A cell that other cubes sit inside is worth more: suppressing it withholds their figures too;
        # a view's total is worth most of all.
        self.weight = {name: 1 + len(children) for name, children in self.children.items()}
        self.price = {}
        for name, cube in cubes.items():
            price = np.full(cube.values.shape, float(self.weight[name]))
            if cube.precious is not None:
                price[cube.precious] *= PRECIOUS
            self.price[name] = price
        self.certificates = self.programmes = self.fallbacks = 0
        self._pattern_cache: dict = {}
        #: Per cube within another: programmes solved for it alone, and how many of those the chain rescued.
        self._alone: dict[str, list[int]] = {}

    # -- the line rule ---------------------------------------------------------------------------

    def line_rule(self) -> int:
        """Secondary suppression until every line with a suppressed cell can absorb its move.

        In each line, the unreadable cells (suppressed, or not published and not zero) other than
        the least roomy must be able to give P between them, or the line's total must be unreadable;
        otherwise the smallest published count of the line that can give P is suppressed too.
        """
        added = 0
        for _ in range(50):
            changed = 0
            for name, cube in self.cubes.items():
                if not cube.controlled:
                    continue
                st, values = self.status[name], cube.values
                for d, dim in enumerate(self.dims):
                    for total, members in dim.lines:
                        cells = [total, *members]
                        stt = np.stack([np.take(st, c, axis=d) for c in cells])
                        hidden = (stt == PRIMARY) | (stt == SECONDARY)
                        if not hidden.any():
                            continue
                        vals = np.stack([np.take(values, c, axis=d) for c in cells])
                        free = hidden | ((stt == ABSENT) & (vals > 0))
                        room = np.where(hidden, vals - self.floor, np.where(free, vals, 0)).astype(float)
                        room[0] = np.where(free[0], np.inf, 0)
                        least = np.min(np.where(free, room, np.inf), axis=0)
                        spare = room.sum(axis=0) - np.where(np.isfinite(least), least, 0)
                        short = hidden.any(axis=0) & (spare < self.width)
                        if not short.any():
                            continue
                        cost = np.where((stt == PUBLISHED) & (vals >= self.floor + self.width), vals, np.inf)
                        pick = np.argmin(cost, axis=0)
                        ok = short & np.isfinite(np.min(cost, axis=0))
                        for pos in zip(*np.nonzero(ok)):
                            index = list(pos)
                            index.insert(d, cells[pick[pos]])
                            if st[tuple(index)] == PUBLISHED:
                                st[tuple(index)] = SECONDARY
                                changed += 1
            added += changed
            if not changed:
                break
        return added

    # -- certificates ----------------------------------------------------------------------------

    def _corners(self, patterns: Sequence[dict[int, float]]):
        """Every corner of the hypercube: a tuple of index arrays, and the product of the weights."""
        idx = [np.fromiter(p.keys(), dtype=np.int64, count=len(p)) for p in patterns]
        sgn = [np.fromiter(p.values(), dtype=float, count=len(p)) for p in patterns]
        total = int(np.prod([len(i) for i in idx]))
        out, inner = [], total
        for i in idx:
            inner //= len(i)
            out.append(np.tile(np.repeat(i, inner), total // (inner * len(i))))
        weights = sgn[0]
        for s in sgn[1:]:
            weights = np.multiply.outer(weights, s)
        return tuple(out), np.asarray(weights).ravel()

    def _check(self, name: str, index: tuple, move: np.ndarray, co_parents: bool):
        """(cost, touched) of moving ``index`` cells of ``name`` by ``move``, or None if it cannot be."""
        touched: dict[str, tuple] = {}
        current, cost = name, 0.0
        while current is not None:
            c = self.cubes[current]
            values = c.values[index]
            st = self.status[current][index]
            shown = st != ABSENT
            if np.any((values == 0) & shown & (np.abs(move) > _EPS)):
                return None  # a published zero is known; one not published may rise (a reader cannot tell)
            if np.any(~shown & (values + move < -_EPS)):
                return None
            hidden = (st == PRIMARY) | (st == SECONDARY)
            if c.controlled:
                absorbed = ~hidden & shown & (move >= -self.down[current][index] - _EPS) & (
                    move <= self.up[current][index] + _EPS)
            else:
                absorbed = ~shown | (np.abs(move) < _EPS)
            hide = shown & ~hidden & ~absorbed
            if np.any(hide) and not c.controlled:
                return None
            if np.any(shown & ~absorbed & (values + move < self.floor - _EPS)):
                return None
            touched[current] = (index, move, hide)
            cost += float((values[hide] * self.price[current][index][hide]).sum())
            for child in self.children[current]:
                if child not in touched and np.any(self.cubes[child].values[index] > values + move + _EPS):
                    return None
            parent = c.within
            if parent is None:
                break
            if not np.any(values + move > self.cubes[parent].values[index] + _EPS):
                break
            if not co_parents:
                return None
            current = parent
        return cost, touched

    def _apply(self, touched: dict) -> None:
        for cname, (index, move, hide) in touched.items():
            st = self.status[cname]
            st[tuple(i[hide] for i in index)] = SECONDARY
            np.maximum.at(self.rise[cname], index, np.maximum(move, 0))
            np.maximum.at(self.fall[cname], index, np.maximum(-move, 0))
        self.certificates += 1

    def proven(self, name: str, cell) -> bool:
        return self.rise[name][cell] + self.fall[name][cell] >= self.width - 1e-6

    def _orders(self, name: str, cell: tuple[int, ...]) -> list[list[int]]:
        """Per dimension, its values ranked: hidden with room first, then largest in the cell's slice."""
        cube = self.cubes[name]
        orders = []
        for d in range(self.n):
            index = list(cell)
            index[d] = slice(None)
            vals = cube.values[tuple(index)].astype(float)
            st = self.status[name][tuple(index)]
            hid = (st == PRIMARY) | (st == SECONDARY) | ((st == ABSENT) & (vals > 0))
            key = np.where(hid & (vals >= self.floor + self.width), -1e12 - vals, -vals)
            orders.append([int(i) for i in np.argsort(key, kind="stable")])
        return orders

    def _patterns(self, d: int, c: int, order: list[int]) -> list[dict[int, float]]:
        key = (d, c, tuple(order[:5]))
        found = self._pattern_cache.get(key)
        if found is None:
            found = self._pattern_cache[key] = dimension_patterns(self.dims[d], c, order)
        return found

    def _search(self, name: str, candidates, scale: float):
        """The cheapest hypercube moving the cell by ``scale`` (a few combinations, then one descent)."""
        best, choice = None, None
        firsts = [sorted({0, len(c) - 1, max(0, len(c) - 2)}) for c in candidates]
        combos = sorted(itertools.product(*firsts), key=sum)[:24]
        for trial in combos:
            index, weights = self._corners([candidates[d][k] for d, k in enumerate(trial)])
            result = self._check(name, index, scale * weights, co_parents=True)
            if result is not None and (best is None or result[0] < best[0]):
                best, choice = result, list(trial)
                if best[0] == 0:
                    return best
        if best is None:
            return None
        for d in range(self.n):
            for k in range(min(len(candidates[d]), 4)):
                if k == choice[d]:
                    continue
                trial = list(choice)
                trial[d] = k
                index, weights = self._corners([candidates[e][trial[e]] for e in range(self.n)])
                result = self._check(name, index, scale * weights, co_parents=True)
                if result is not None and result[0] < best[0]:
                    best, choice = result, trial
                    if best[0] == 0:
                        return best
        return best

    def _window(self, d: int, c: int, order: Sequence[int], k: int | None = 2) -> list[int]:
        """The values of dimension ``d`` a local programme for coordinate ``c`` may move (``k=None``: all)."""
        dim = self.dims[d]
        if k is None:
            return [c, *(v for v in range(dim.size) if v != c)]
        rank = {v: i for i, v in enumerate(order)}
        out = [c]

        def add(values):
            for v in sorted(values, key=lambda m: rank.get(m, len(rank)))[:k]:
                if v not in out:
                    out.append(v)

        frontier = [c]
        while frontier:  # the cell, every total above it, and a few siblings at each level
            node = frontier.pop()
            for total, members in dim.member_lines(node):
                add([m for m in members if m != node])
                if total not in out:
                    out.append(total)
                    frontier.append(total)
        for node in list(out):
            for _, members in dim.total_lines(node):
                add([m for m in members if m not in out])
        return out

    def _window_lines(self, d: int, window: list[int]):
        """The lines of dimension ``d`` that touch ``window``: (positions in the window of each term,
        their coefficients: +1 a member, -1 the total, the line's number among those kept for each
        term), in the dimension's order of lines; kept per window, which recur from cell to cell."""
        key = (d, tuple(window))
        found = self._lines_cache.get(key)
        if found is None:
            where = {v: i for i, v in enumerate(window)}
            idx, coefs, line_of, kept = [], [], [], 0
            for total, members in self.dims[d].lines:
                inside = [where[m] for m in members if m in where]
                if total not in where and not inside:
                    continue
                terms = inside + ([where[total]] if total in where else [])
                idx += terms
                coefs += [1.0] * len(inside) + ([-1.0] if total in where else [])
                line_of += [kept] * len(terms)
                kept += 1
            found = self._lines_cache[key] = (idx, coefs, line_of)
        return found

    def _local_lp(self, name: str, cell, orders, scale: float, k: int | None = 1, free: bool = False):
        """``_programme`` for the cube alone where it can be, else with the cubes holding it.

        A cube within another (people with a need within people seen) doubles a programme's size if
        the one holding it is in it too. So the programme is first solved for the cube alone, the cube
        holding it kept at its true values (this cube may then rise only as far as that one's counts):
        any certificate of that is a certificate, and if it has none, neither has the whole chain unless
        the holding cube moves too, which is then tried. A cube whose programmes alone keep failing
        where the chain succeeds (a quarter of them, after 20) goes to the chain at once. On the
        1,000,000-person counts (all 80 groups, one core) the control took 192 s against 289 s, with
        4,434 counts suppressed to protect others against 4,446.
        """
        if self.cubes[name].within is None:
            return self._programme(name, cell, orders, scale, k=k, free=free)
        tally = self._alone.setdefault(name, [0, 0])
        if tally[0] >= 20 and tally[1] >= 0.25 * tally[0]:
            return self._programme(name, cell, orders, scale, k=k, free=free)
        found = self._programme(name, cell, orders, scale, k=k, free=free, alone=True)
        tally[0] += 1
        if found is None:
            found = self._programme(name, cell, orders, scale, k=k, free=free)
            tally[1] += found is not None
        return found

    def _programme(self, name: str, cell, orders, scale: float, k: int | None = 1, free: bool = False,
                   alone: bool = False):
        """The cheapest certificate moving ``cell`` by ``scale`` inside a window of nearby values.

        Counts outside the window keep their true values, so a solution is a certificate. A
        published count moves freely inside its rounding interval; beyond it, it is suppressed, at the
        cost of the count (a mixed-integer programme: one yes-or-no per published count). With
        ``free``, no published count may leave its interval: a linear programme that finds a
        certificate costing nothing (no new suppression) if the window holds one, several times faster.
        """
        from scipy.optimize import Bounds, LinearConstraint, milp
        from scipy.sparse import coo_matrix

        windows = [self._window(d, cell[d], orders[d], k=k) for d in range(self.n)]
        cube = self.cubes[name]
        witness = cube.witness(cell) if cube.witness else None
        if witness:  # values holding someone in the cell: a total can always rise through them
            windows = [w + [v for v in sorted(witness[d]) if v not in w] for d, w in enumerate(windows)]
        chain = [name]
        while not alone and self.cubes[chain[-1]].within is not None:
            chain.append(self.cubes[chain[-1]].within)
        grids = np.meshgrid(*[np.asarray(w) for w in windows], indexing="ij")
        index = tuple(x.ravel() for x in grids)
        n = len(index[0])
        shape = tuple(len(w) for w in windows)
        lo_all, hi_all, extras = [], [], []
        for ci, cname in enumerate(chain):
            cube = self.cubes[cname]
            values = cube.values[index].astype(float)
            st = self.status[cname][index]
            shown = st != ABSENT
            hidden = (st == PRIMARY) | (st == SECONDARY)
            fixed = ((values == 0) & shown) | (~np.asarray(cube.controlled) & shown)
            lo = np.where(shown, self.floor - values, -values)
            visible = shown & ~hidden & ~fixed
            lo_free = np.where(visible, -self.down[cname][index], lo)
            hi_free = np.where(visible, self.up[cname][index], np.inf)
            for child in self.children[cname]:
                if child not in chain:
                    gap = self.cubes[child].values[index] - values
                    lo, lo_free = np.maximum(lo, gap), np.maximum(lo_free, gap)
            lo_all.append(np.where(fixed, 0, lo_free))
            hi_all.append(np.where(fixed, 0, hi_free))
            price = self.price[cname][index]
            # A precious count (a view's total) may leave its rounding interval at its high price, so
            # that where nothing else will do the programme hides the cheapest total, not all of them.
            for i in np.flatnonzero(visible) if not free else ():
                extras.append((ci, int(i), float(values[i]) * float(price[i]) / self.width, float(lo[i])))
        # Alone, the cube holding this one stays put, so this one may rise only as far as its counts.
        cap = np.full(n * len(chain), np.inf)
        if alone:
            cap[:n] = (self.cubes[self.cubes[name].within].values[index] - self.cubes[name].values[index])
            hi_all[0] = np.minimum(hi_all[0], cap[:n])
        lower, upper = np.concatenate(lo_all), np.concatenate(hi_all)
        nvar_y = n * len(chain)
        # The lines inside the window, one block per dimension: for each line, one row per combination
        # of the other dimensions' values, its members +1 and its total -1 (built a dimension at a time:
        # building it a line and a member at a time was half of the protection's time, not the solver).
        grid_index = np.arange(n).reshape(shape)
        block_rows, block_cols, block_vals = [], [], []
        r = 0
        for d in range(self.n):
            idx, coefs, line_of = self._window_lines(d, windows[d])
            if not idx:
                continue
            cells = np.moveaxis(grid_index, d, 0).reshape(shape[d], -1)  # == np.take(grid, i, axis=d)
            count = cells.shape[1]
            block_cols.append(cells[idx].ravel())
            block_rows.append((r + np.asarray(line_of)[:, None] * count + np.arange(count)).ravel())
            block_vals.append(np.repeat(np.asarray(coefs), count))
            r += (line_of[-1] + 1) * count
        eq_per_cube = r
        rows, cols, vals = [], [], []
        if eq_per_cube:
            base_rows, base_cols, base_vals = (np.concatenate(block_rows), np.concatenate(block_cols),
                                               np.concatenate(block_vals))
            for ci in range(len(chain)):
                rows.append(ci * eq_per_cube + base_rows)
                cols.append(ci * n + base_cols)
                vals.append(base_vals)
        eq_rows = eq_per_cube * len(chain)
        ub_rows, ub_cols, ub_vals, ub_rhs = [], [], [], []
        u = 0
        for j, (ci, i, _, lo_i) in enumerate(extras):
            col_y, col_p, col_q = ci * n + i, nvar_y + 2 * j, nvar_y + 2 * j + 1
            ub_rows += [u, u, u, u + 1, u + 1, u + 1]
            ub_cols += [col_y, col_p, col_q] * 2
            ub_vals += [1.0, -1.0, 1.0, -1.0, 1.0, -1.0]
            ub_rhs += [upper[col_y], -lower[col_y]]
            u += 2
            lower[col_y], upper[col_y] = lo_i, cap[col_y]
        for ci in range(len(chain) - 1):
            gap = (self.cubes[chain[ci + 1]].values[index] - self.cubes[chain[ci]].values[index]).astype(float)
            at = np.arange(n)
            ub_rows += np.repeat(u + at, 2).tolist()
            ub_cols += np.column_stack([ci * n + at, (ci + 1) * n + at]).ravel().tolist()
            ub_vals += [1.0, -1.0] * n
            ub_rhs += gap.tolist()
            u += n
        # Whether a published count leaves its rounding interval (and is then suppressed) is a yes or
        # no, so it is a binary variable: the linear relaxation prices a count of 13,000 moved by a
        # hundredth of a unit at 130 and then has to withhold all of it.
        nz = len(extras)
        for j in range(nz):
            ub_rows += [u, u, u]
            ub_cols += [nvar_y + 2 * j, nvar_y + 2 * j + 1, nvar_y + 2 * nz + j]
            ub_vals += [1.0, 1.0, -_BIG_MOVE * self.width]
            ub_rhs.append(0.0)
            u += 1
        target = int(np.ravel_multi_index(tuple(windows[d].index(cell[d]) for d in range(self.n)), shape))
        # A free certificate may as well prove other suppressed cells of the window: it is rewarded for
        # each one's rise beyond what earlier certificates gave (t <= y - rise, at most what the cell
        # still needs), so fewer programmes are solved in all. (A reward for moving either way is not
        # linear; a fall costs a little instead, which changes only which certificate is chosen.)
        shared = []
        if free:
            for ci, cname in enumerate(chain):
                st = self.status[cname][index]
                rise, fall = self.rise[cname][index], self.fall[cname][index]
                need = self.width - rise - fall
                for i in np.flatnonzero(((st == PRIMARY) | (st == SECONDARY)) & (need > 1e-6)):
                    if not (ci == 0 and i == target):
                        shared.append((ci * n + int(i), float(need[i]), float(rise[i])))
        first = nvar_y + 3 * nz
        for b, (col_y, need_b, rise_b) in enumerate(shared):
            ub_rows += [u, u]
            ub_cols += [first + b, col_y]
            ub_vals += [1.0, -1.0]
            ub_rhs.append(-rise_b)
            u += 1
        nvar = first + len(shared)
        cost = np.concatenate([np.zeros(nvar_y), np.full(2 * nz, 1e-6),
                               np.asarray([e[2] * self.width for e in extras], dtype=float),
                               np.full(len(shared), -1.0)])
        reach = np.asarray([x[1] for x in shared], dtype=float)
        b_lo = np.concatenate([lower, np.zeros(3 * nz), np.full(len(shared), -np.inf)])
        b_hi = np.concatenate([upper, np.full(2 * nz, np.inf), np.ones(nz), reach])
        if scale < b_lo[target] - _EPS and not any(e[0] == 0 and e[1] == target for e in extras):
            return None
        if scale > b_hi[target] + _EPS:
            return None  # alone, the cell cannot rise that far without the cube holding it
        b_lo[target] = b_hi[target] = scale
        constraints = []
        if eq_rows:
            a_eq = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                              shape=(eq_rows, nvar)).tocsr()
            constraints.append(LinearConstraint(a_eq, np.zeros(eq_rows), np.zeros(eq_rows)))
        if u:
            a_ub = coo_matrix((ub_vals, (ub_rows, ub_cols)), shape=(u, nvar)).tocsr()
            constraints.append(LinearConstraint(a_ub, -np.inf, np.asarray(ub_rhs)))
        self.programmes += 1
        seconds = _WHOLE_SECONDS if k is None else _PROGRAMME_SECONDS
        if free:
            x = _solve_lp(cost, constraints, b_lo, b_hi, presolve=k is None or k <= 2, seconds=seconds,
                          solver="ipm" if k is None else "simplex")
        else:
            integrality = np.concatenate([np.zeros(nvar_y + 2 * nz), np.ones(nz), np.zeros(len(shared))])
            with _quiet_stdout():  # HiGHS's MIP solver prints a debugging line on some models
                result = milp(cost, constraints=constraints, integrality=integrality, bounds=Bounds(b_lo, b_hi),
                              options={"time_limit": seconds, "mip_rel_gap": 1e-3})
            x = result.x if result.x is not None and result.status in (0, 1) else None
        if x is None:
            return None
        touched, total_cost = {}, 0.0
        for ci, cname in enumerate(chain):
            moves = x[ci * n:(ci + 1) * n]
            hide = np.zeros(n, dtype=bool)
            for j, (cj, i, _, _) in enumerate(extras):
                if cj == ci and x[nvar_y + 2 * nz + j] > 0.5:
                    hide[i] = True
            moving = np.abs(moves) > 1e-9
            if moving.any():
                st = self.status[cname][index]
                hide &= st == PUBLISHED
                total_cost += float((self.cubes[cname].values[index][hide] * self.price[cname][index][hide]).sum())
                touched[cname] = (tuple(i[moving] for i in index), moves[moving], hide[moving])
        return total_cost, touched

    def _fallback(self, name: str, cell, orders, scale: float):
        """Raise the cell and every total above it, with the cubes containing it: always fits."""
        self.fallbacks += 1
        cube = self.cubes[name]
        witness = cube.witness(cell) if cube.witness else None
        tries = ([(orders, witness)] if witness else []) + [(orders, None)]
        for attempt, chosen in tries:
            patterns = [ancestor_pattern(self.dims[d], cell[d], attempt[d], chosen[d] if chosen else None)
                        for d in range(self.n)]
            if any(p is None for p in patterns):
                continue
            index, weights = self._corners(patterns)
            result = self._check(name, index, abs(scale) * weights, co_parents=True)
            if result is not None:
                return result
        raise RuntimeError(f"no certificate protects a cell of {name}: report this as a bug")

    def _hides_precious(self, touched: dict) -> bool:
        for cname, (index, _, hide) in touched.items():
            precious = self.cubes[cname].precious
            if precious is not None and np.any(precious[tuple(i[hide] for i in index)]):
                return True
        return False

    def protect_cell(self, name: str, cell: tuple[int, ...]) -> None:
        """Prove the cell's range at least as wide as P: up, down, or both."""
        orders = self._orders(name, cell)
        candidates = [self._patterns(d, cell[d], orders[d]) for d in range(self.n)]
        candidates = [c or [p for p in [ancestor_pattern(self.dims[d], cell[d], orders[d])] if p is not None]
                      for d, c in enumerate(candidates)]
        room_down = float(self.cubes[name].values[cell]) - self.floor
        rise, fall = self.rise[name][cell], self.fall[name][cell]
        options = [self.width - fall]
        if room_down >= self.width - rise:
            options.append(-(self.width - rise))
        searchable = all(candidates)
        found = [r for r in (self._search(name, candidates, s) for s in options) if r is not None] if searchable else []
        for k in (2, 3):
            if found and min(r[0] for r in found) == 0:
                break
            # A certificate that hides nothing more, if a window of two (then three) siblings holds one:
            # a linear programme, far quicker than the integer programmes below, and never worse.
            found += [r for r in [self._local_lp(name, cell, orders, options[0], k=k, free=True)] if r is not None]
        # A hypercube that would hide a large count (a headline total) is checked against the cheapest
        # certificate a local programme can find: hiding one count of 40,000 to protect a count of 3 is
        # what the programme exists to avoid. Its window is three siblings at each level (``MILP_WINDOWS``):
        # windows of one and two were tried first until the 1M publication showed that almost every cell
        # that needs an integer programme needs the window of three.
        for k in MILP_WINDOWS:
            if found:
                best = min(found, key=lambda r: r[0])
                if best[0] <= EXPENSIVE and not self._hides_precious(best[1]):
                    break
            found += [r for r in (self._local_lp(name, cell, orders, s, k=k) for s in options[:1]) if r is not None]
        if not found or self._hides_precious(min(found, key=lambda r: r[0])[1]):
            # rare: a view's total would be hidden. Every value of every dimension, for the few cells that
            # reach here: first a certificate that hides nothing more (a linear programme), which the whole
            # cube mostly holds, then the integer programme if it does not. (A window of each line through
            # the cell, its totals and one level below came first until stop 42: it leaves out the 19
            # categories under the 5 groups and the two-way cells, and on the 1,000,000-person publication
            # its 81 programmes took 67 s and left 8 cells to the whole cube anyway.)
            whole = self._local_lp(name, cell, orders, options[0], k=None, free=True)
            found += [whole] if whole is not None else [
                r for r in (self._local_lp(name, cell, orders, s, k=None) for s in options[:1]) if r is not None]
        best = min(found, key=lambda r: r[0]) if found else None
        if best is None:
            best = self._fallback(name, cell, orders, options[0])
        self._apply(best[1])

    def run(self) -> None:
        self.line_rule()
        for wanted in (PRIMARY, SECONDARY):
            for name, cube in self.cubes.items():
                if not cube.controlled:
                    continue
                proven = self.rise[name] + self.fall[name] >= self.width - 1e-6
                for cell in np.argwhere((self.status[name] == wanted) & ~proven):
                    t = tuple(int(x) for x in cell)
                    if not self.proven(name, t):
                        self.protect_cell(name, t)


def _groups(cubes: dict[str, Cube]) -> list[list[str]]:
    """Cubes that must be protected together: those joined by *within* links."""
    parent = {name: name for name in cubes}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for name, cube in cubes.items():
        if cube.within is not None:
            parent[find(name)] = find(cube.within)
    groups: dict[str, list[str]] = {}
    for name in cubes:
        groups.setdefault(find(name), []).append(name)
    return list(groups.values())


_WORK: dict = {}


def _protect_group(names: list[str]):
    dims, cubes, rule, width = _WORK["dims"], _WORK["cubes"], _WORK["rule"], _WORK["width"]
    linked = _Linked(dims, {n: cubes[n] for n in names}, rule, width)
    linked.run()
    return ({n: linked.status[n] for n in names}, linked.certificates, linked.programmes, linked.fallbacks)


def protect(dims: Sequence[Dimension], cubes: dict[str, Cube], rule: DisclosureRule,
            width: int | None = None, workers: int | None = None,
            progress: Callable[[str, int, int], None] | None = None) -> ProtectionReport:
    """Primary suppression by ``rule``, the line rule, certificates for every suppressed cell, rounding.

    Cubes joined by *within* links are protected together; separate groups run in ``workers``
    processes (default: the machine's cores; ``TRIANGULATE_WORKERS`` sets it).
    """
    import multiprocessing

    shape = tuple(d.size for d in dims)
    for name, cube in cubes.items():
        if cube.values.shape != shape or cube.exists.shape != shape:
            raise ValueError(f"cube {name!r} does not have the dimensions' shape {shape}")
        if np.any(cube.values < 0):
            raise ValueError(f"cube {name!r} has a negative count")
        check_lines(dims, cube)
    width = rule.protection if width is None else width
    groups = _groups(cubes)
    # Largest first, so that the processes finish together.
    groups.sort(key=lambda g: -sum(int(((cubes[n].values > 0) & (cubes[n].values < rule.suppress_below)).sum())
                                   for n in g))
    workers = workers or int(os.environ.get("TRIANGULATE_WORKERS", "0") or 0) or (os.cpu_count() or 1)
    _WORK.update(dims=list(dims), cubes=cubes, rule=rule, width=width)
    try:
        results, done = [], set()
        if workers > 1 and len(groups) > 1 and "fork" in multiprocessing.get_all_start_methods():
            from concurrent.futures import ProcessPoolExecutor, as_completed
            from concurrent.futures.process import BrokenProcessPool

            # An executor, not a multiprocessing pool: a pool whose process dies (HiGHS once crashed in a
            # forked process whose parent had run Spark and the solver) waits for its task for ever; an
            # executor says so, and the groups not done are then protected here, in this process.
            try:
                with ProcessPoolExecutor(min(workers, len(groups)),
                                         mp_context=multiprocessing.get_context("fork")) as pool:
                    futures = {pool.submit(_protect_group, g): i for i, g in enumerate(groups)}
                    for future in as_completed(futures):
                        results.append(future.result())
                        done.add(futures[future])
                        if progress:
                            progress("Disclosure control: groups of linked counts", len(results), len(groups))
            except BrokenProcessPool:
                pass
        for i, g in enumerate(groups):
            if i not in done:
                results.append(_protect_group(g))
                if progress:
                    progress("Disclosure control: groups of linked counts", len(results), len(groups))
    finally:
        _WORK.clear()
    statuses: dict[str, np.ndarray] = {}
    certificates = programmes = fallbacks = 0
    for status, c, p, f in results:
        statuses.update(status)
        certificates, programmes, fallbacks = certificates + c, programmes + p, fallbacks + f
    out = {}
    primary = secondary = 0
    for name, cube in cubes.items():
        status = statuses[name]
        shown = np.full(shape, -1, dtype=np.int64)
        visible = (status == PUBLISHED) | (status == ZERO)
        shown[visible] = rounded(cube.values[visible], rule) if cube.controlled else cube.values[visible]
        out[name] = Protected(status, shown)
        primary += int((status == PRIMARY).sum())
        secondary += int((status == SECONDARY).sum())
    return ProtectionReport(out, primary, secondary, certificates, programmes, fallbacks)


def check_lines(dims: Sequence[Dimension], cube: Cube) -> None:
    """Refuse a cube whose totals are not the sums of their members (a bug upstream, never data)."""
    v = cube.values
    for d, dim in enumerate(dims):
        for total, members in dim.lines:
            if np.any(np.take(v, total, axis=d) != np.take(v, list(members), axis=d).sum(axis=d)):
                raise ValueError(f"cube {cube.name!r}: a total along {dim.name} is not the sum of its members")
