"""Disclosure control of linked tables: every view of a publication controlled as one whole.

Why this module exists: a publication shows the same people in many tables at once. A count of
people by ethnic group in one area and year sits in the table of all areas, the table of the whole
period, the table for women, the 5-group table and the 19-category table, and every one of them
has a total. Controlling each table alone lets a reader take a total and subtract the shown parts
(the attack that recovered 71 to 109 suppressed counts from the first dashboard). Here the whole
publication is one system of **cubes** and **lines**:

- a *cube* holds one quantity (people seen in police custody; people with depression seen in
  prison) over four dimensions: area, year, demographic filter and group. Cells that the
  publication does not show (19 categories for women in one year, say) are not published
  (``exists``) but still count: a reader knows they are whole numbers of at least zero that their
  lines add up with, so they take part in every line as unknowns;
- a *line* along a dimension says a total is the sum of its members (all areas = the sum of the
  areas; the whole period = the sum of the years; all people = the sum of the 5 groups, = the sum of
  the sexes, ...; a 5-group cell = the sum of its 19 categories). A line applies wherever all its
  cells exist;
- *within* links say one cube is contained in another cell by cell (people with a need are among
  the people seen), which a reader also knows (a suppressed count is at most its denominator).

**What we guarantee** (``DisclosureRule.protection``, P): for every suppressed cell, a reader who
knows every published number exactly (a stronger reader than the real one, who sees counts rounded),
every line, every *within* link, and that a suppressed count is at least ``smallest_suppressed_count``,
cannot narrow it to a range narrower than P. The proof is constructive: each suppressed cell is in
a **certificate**, a second complete set of counts that agrees with everything published, keeps every
line and link, and differs from the truth by P in that cell. Both the truth and the certificate are
consistent with the publication, so the reader's range holds both values.

**How certificates are found: the hypercube method.** For a cell that must be protected, choose in
each dimension a *pattern*: the cell and a sibling with opposite signs (moving one unit from the
sibling to the cell keeps the line's total), or the cell and its total with the same sign (raising
both), closed so that every line of that dimension balances (a 5-group cell brings one of its 19
categories, a total brings a member of each of its other lines). The outer product of the four
patterns balances every line of the cube (each line runs along one dimension). Cells with a minus
sign must hold at least ``smallest_suppressed_count + P``, cells with a plus sign must not be zero,
and a cell may not rise above the cell of the cube containing it; among the valid hypercubes we take
the one whose new suppressions lose the fewest people (Repsilber's hypercube heuristic, GHMiter in
Tau-Argus, whose headless engine does not offer it). Every cell of a certificate is suppressed, so
one certificate protects all of its cells. Where no sibling pattern fits, the cell and all its
totals are raised together, with the cube containing it, which always fits.

Primary suppression is the rule's; published counts are rounded by the rule after protection.
``triangulate.disclosure.audit`` attacks the result independently with linear programming.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from triangulate.disclosure.rules import DisclosureRule

#: Cell status codes in ``Protected.status``.
PUBLISHED = 0
PRIMARY = 1
SECONDARY = 2
ZERO = 3
ABSENT = 4


@dataclass(frozen=True)
class Dimension:
    """One dimension of every cube: its size and its lines (total index, member indices)."""

    name: str
    size: int
    lines: tuple[tuple[int, tuple[int, ...]], ...]

    def member_line(self, c: int) -> list[tuple[int, tuple[int, ...]]]:
        return [line for line in self.lines if c in line[1]]

    def total_lines(self, c: int) -> list[tuple[int, tuple[int, ...]]]:
        return [line for line in self.lines if line[0] == c]


@dataclass
class Cube:
    """One quantity over (area, year, filter, group); ``exists`` says which cells are published."""

    name: str
    values: np.ndarray
    exists: np.ndarray
    controlled: bool = True
    within: str | None = None
    #: For a cell, per dimension, the values holding one and the same person (or record) of the cell.
    witness: Callable[[tuple[int, int, int, int]], list[set[int]] | None] | None = None


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
    fallbacks: int
    notes: list[str] = field(default_factory=list)


# --- patterns along one dimension ----------------------------------------------------------------


def _close(dim: Dimension, start: dict[int, float], choose, split: int = 1) -> dict[int, float] | None:
    """Complete ``start`` so that every line of ``dim`` balances, adding members chosen by ``choose``.

    A line whose total carries a weight needs its members to carry the same sum: the first ``split``
    free members by ``choose``'s ranking share it equally. An unbalanced line whose members are all
    taken cannot be closed (None).
    """
    y = dict(start)
    for _ in range(4 * len(dim.lines) + 4):
        changed = False
        for total, members in dim.lines:
            diff = y.get(total, 0) - sum(y.get(m, 0) for m in members)
            if abs(diff) < 1e-9:
                continue
            if y.get(total, 0) == 0 and all(y.get(m, 0) == 0 for m in members):
                continue
            free = [m for m in members if y.get(m, 0) == 0]
            if not free:
                # Members carry more than the total: raise the total (it has no line above it here).
                if any(total in ms for _, ms in dim.lines):
                    return None
                y[total] = y.get(total, 0) - diff
                changed = True
                continue
            chosen = choose(total, free, min(split, len(free)))
            for m in chosen:
                y[m] = diff / len(chosen)
            changed = True
        if not changed:
            return y
    return None


def _chooser(order: Sequence[int], witness: set[int] | None = None):
    rank = {v: i for i, v in enumerate(order)}
    witness = witness or set()

    def choose(total: int, free: list[int], k: int) -> list[int]:
        ranked = sorted(free, key=lambda m: (m not in witness, rank.get(m, len(rank))))
        return ranked[:k]

    return choose


def dimension_patterns(dim: Dimension, c: int, order: Sequence[int], limit: int = 3) -> list[dict[int, float]]:
    """Candidate patterns for coordinate ``c`` along ``dim``, cheapest first, the pattern up last.

    For a member of a line: the cell against one sibling (``limit`` of them), against several
    siblings sharing the move, then the cell with its total. For a total: the total with one
    member, then with several members sharing the move. ``order`` ranks the values by preference
    (already suppressed first, then by value) for the free choices.
    """
    choose = _chooser(order)
    rank = {v: i for i, v in enumerate(order)}
    out: list[dict[int, float]] = []
    lines = dim.member_line(c)
    if lines:
        total, members = lines[0]
        siblings = sorted((m for m in members if m != c), key=lambda m: rank.get(m, len(rank)))
        for s in siblings[:limit]:
            y = _close(dim, {c: 1, s: -1}, choose)
            if y is not None:
                out.append(y)
        for k in sorted({min(2, len(siblings)), min(3, len(siblings)), len(siblings)}):
            if k >= 2:
                y = _close(dim, {c: 1, **{s: -1.0 / k for s in siblings[:k]}}, choose, split=k)
                if y is not None:
                    out.append(y)
        up = _close(dim, {c: 1, total: 1}, choose)
    else:
        for k in (1, 2, 3, 99):
            y = _close(dim, {c: 1}, choose, split=k)
            if y is not None and y not in out:
                out.append(y)
        up = None
    if up is not None:
        out.append(up)
    return out


def ancestor_pattern(dim: Dimension, c: int, order: Sequence[int],
                     witness: set[int] | None = None) -> dict[int, float] | None:
    """The all-plus pattern: ``c`` and every total above it raised.

    A line's member is one of the ``witness``'s values (the values of this dimension holding someone
    who is in the cell being protected, so no corner of the hypercube is zero), else the first by
    ``order``.
    """
    start = {c: 1}
    node = c
    while True:
        up = dim.member_line(node)
        if not up:
            break
        node = up[0][0]
        start[node] = 1
    return _close(dim, start, _chooser(order, witness))


# --- the protection ------------------------------------------------------------------------------


class _Linked:
    def __init__(self, dims: Sequence[Dimension], cubes: dict[str, Cube], rule: DisclosureRule, width: int):
        self.dims = list(dims)
        self.cubes = cubes
        self.rule = rule
        self.width = width
        self.floor = rule.smallest_suppressed_count
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
        for name, cube in cubes.items():
            exists = cube.exists
            status = np.full(cube.values.shape, PUBLISHED, dtype=np.int8)
            status[~exists] = ABSENT
            status[exists & (cube.values == 0)] = ZERO if rule.publish_zero or not cube.controlled else PRIMARY
            if cube.controlled:
                small = exists & (cube.values > 0) & (cube.values < rule.suppress_below)
                status[small] = PRIMARY
                if not rule.publish_zero:
                    status[exists & (cube.values == 0)] = PRIMARY
            self.status[name] = status
            self.rise[name] = np.zeros(cube.values.shape)
            self.fall[name] = np.zeros(cube.values.shape)
        # How far each count may move and still be shown as the same rounded number.
        self.down: dict[str, np.ndarray] = {}
        self.up: dict[str, np.ndarray] = {}
        for name, cube in cubes.items():
            low, high = rounding_interval(cube.values, rule)
            self.down[name] = cube.values - low
            self.up[name] = high - cube.values
        # A cell that other cubes sit inside is worth more: suppressing it withholds their figures too.
        self.weight = {name: 1 + len(children) for name, children in self.children.items()}
        self.certificates = 0
        self.fallbacks = 0
        self._pattern_cache: dict = {}

    def hidden(self, name: str) -> np.ndarray:
        s = self.status[name]
        return (s == PRIMARY) | (s == SECONDARY)

    # A certificate is {cube: [(index tuple, sign)]}; checked, then applied.

    @staticmethod
    def _corners(patterns: Sequence[dict[int, float]]):
        """Every corner of the hypercube: index arrays and the product of the weights."""
        idx = [np.fromiter(p.keys(), dtype=np.int64, count=len(p)) for p in patterns]
        sgn = [np.fromiter(p.values(), dtype=float, count=len(p)) for p in patterns]
        sizes = [len(i) for i in idx]
        total = sizes[0] * sizes[1] * sizes[2] * sizes[3]
        out = []
        inner = total
        for i in idx:
            inner //= len(i)
            out.append(np.tile(np.repeat(i, inner), total // (inner * len(i))))
        signs = np.multiply.outer(np.multiply.outer(np.multiply.outer(sgn[0], sgn[1]), sgn[2]), sgn[3]).ravel()
        a, y, f, g = out
        return a, y, f, g, signs

    def _evaluate(self, name: str, patterns, *, co_parents: bool, scale: float | None = None
                  ) -> tuple[float, dict] | None:
        """The cost of the certificate ``patterns`` on cube ``name`` (None if it does not fit).

        A published count may move inside its rounding interval without being suppressed: the
        reader sees the same rounded number either way. Beyond that it must be suppressed, at a cost
        of its value. The same corners move in every cube that must move with it: where a cell
        would rise above the cell containing it, the containing cube moves too (``co_parents``), and
        then its own containing cube where needed. Every moved cube keeps the cubes inside it inside it.
        """
        a, y, f, g, s = self._corners(patterns)
        move = (self.width if scale is None else scale) * s
        touched: dict[str, tuple] = {}
        current = name
        cost = 0.0
        while current is not None:
            c = self.cubes[current]
            values = c.values[a, y, f, g]
            st = self.status[current][a, y, f, g]
            shown = st != ABSENT
            # A published zero is known exactly; a count the publication does not show is free,
            # as long as it stays a count (at least zero).
            if np.any(shown & (values == 0)) or np.any(~shown & (values + move < -1e-9)):
                return None
            hidden = (st == PRIMARY) | (st == SECONDARY)
            if c.controlled:
                absorbed = ~hidden & shown & (move >= -self.down[current][a, y, f, g]) & (
                    move <= self.up[current][a, y, f, g])
            else:
                absorbed = ~shown
            hide = shown & ~hidden & ~absorbed
            if np.any(hide) and not c.controlled:
                return None
            if np.any(shown & (values + move < self.floor - 1e-9)):
                return None
            touched[current] = (a, y, f, g, move, hide)
            cost += float(values[hide].sum()) * self.weight[current]
            for child in self.children[current]:
                if child in touched:
                    continue
                cv = self.cubes[child].values[a, y, f, g]
                if np.any(cv > values + move + 1e-9):
                    return None
            parent = c.within
            if parent is None:
                break
            pv = self.cubes[parent].values[a, y, f, g]
            if not np.any(values + move > pv + 1e-9):
                break
            if not co_parents:
                return None
            current = parent
        return cost, touched

    def _apply(self, touched: dict) -> None:
        for cname, (a, y, f, g, move, hide) in touched.items():
            st = self.status[cname]
            shown = st[a, y, f, g] != ABSENT
            a, y, f, g, move, hide = a[shown], y[shown], f[shown], g[shown], move[shown], hide[shown]
            st[a[hide], y[hide], f[hide], g[hide]] = SECONDARY
            # What each suppressed cell of the certificate is now proven to be able to rise and fall by.
            up, down = self.rise[cname], self.fall[cname]
            np.maximum.at(up, (a, y, f, g), np.maximum(move, 0))
            np.maximum.at(down, (a, y, f, g), np.maximum(-move, 0))
        self.certificates += 1

    def proven(self, name: str, cell) -> bool:
        return self.rise[name][cell] + self.fall[name][cell] >= self.width - 1e-9

    def _orders(self, name: str, cell: tuple[int, int, int, int]) -> list[list[int]]:
        """Per dimension, its values ranked: hidden first, then largest in the cell's slice."""
        cube = self.cubes[name]
        orders = []
        for d in range(4):
            index = list(cell)
            index[d] = slice(None)
            vals = cube.values[tuple(index)].astype(float)
            st = self.status[name][tuple(index)]
            hid = (st == PRIMARY) | (st == SECONDARY)
            key = np.where(hid & (vals >= self.floor + self.width), -1e12 - vals, -vals)
            orders.append([int(i) for i in np.argsort(key, kind="stable")])
        return orders

    def _patterns(self, d: int, c: int, order: list[int]) -> list[dict[int, int]]:
        # Patterns depend on the coordinate and on the first few preferred values only: reuse them.
        key = (d, c, tuple(order[:6]))
        found = self._pattern_cache.get(key)
        if found is None:
            found = self._pattern_cache[key] = dimension_patterns(self.dims[d], c, order)
        return found

    def _search(self, name: str, candidates, scale: float) -> tuple[float, dict] | None:
        """The cheapest certificate moving the cell by ``scale`` among the candidates' hypercubes.

        Start from the best hypercube that takes, in each dimension, its first candidate (one
        sibling), its shared candidate (siblings sharing the move) or its last (up to the total): a
        rare group is rare in every area and year too, so going up or sharing is often the only way.
        Then improve one dimension at a time.
        """
        best, choice = None, None
        firsts = [sorted({0, len(c) - 1, max(0, len(c) - 2)}) for c in candidates]
        combos = sorted(itertools.product(*firsts), key=lambda t: sum(t))
        for trial in combos:
            trial = list(trial)
            result = self._evaluate(name, [candidates[d][trial[d]] for d in range(4)], co_parents=True,
                                    scale=scale)
            if result is not None and (best is None or result[0] < best[0]):
                best, choice = result, trial
                if best[0] == 0:
                    return best
        if best is None:
            return None
        for d in range(4):
            for k in range(len(candidates[d])):
                if k == choice[d]:
                    continue
                trial = list(choice)
                trial[d] = k
                result = self._evaluate(name, [candidates[e][trial[e]] for e in range(4)], co_parents=True,
                                        scale=scale)
                if result is not None and result[0] < best[0]:
                    best, choice = result, trial
                    if best[0] == 0:
                        return best
        return best

    def protect_cell(self, name: str, cell: tuple[int, int, int, int]) -> None:
        """Prove the cell's range at least as wide as the protection width: up, down, or both."""
        orders = self._orders(name, cell)
        candidates = [self._patterns(d, cell[d], orders[d]) for d in range(4)]
        if any(not c for c in candidates):
            candidates = [c or [ancestor_pattern(self.dims[d], cell[d], orders[d])] for d, c in enumerate(candidates)]
        value = float(self.cubes[name].values[cell])
        room_down = value - self.floor
        rise, fall = self.rise[name][cell], self.fall[name][cell]
        options = [("up", self.width - fall)]
        if room_down >= self.width - rise:
            options.append(("down", self.width - rise))
        found = []
        for direction, size in options:
            result = self._search(name, candidates, size if direction == "up" else -size)
            if result is not None:
                found.append(result)
        if found:
            self._apply(min(found, key=lambda r: r[0])[1])
            return
        if room_down > fall:
            # Down as far as the floor lets it, and up the rest of the way.
            down = self._search(name, candidates, -room_down)
            up = self._search(name, candidates, self.width - room_down)
            if down is not None and up is not None:
                self._apply(down[1])
                self._apply(up[1])
                return
        self._apply(self._fallback(name, cell, orders)[1])

    def _window(self, d: int, c: int, order: Sequence[int], k: int = 2) -> list[int]:
        """The values of dimension ``d`` a local certificate for coordinate ``c`` may move."""
        dim = self.dims[d]
        rank = {v: i for i, v in enumerate(order)}
        out = [c]

        def add(values):
            for v in sorted(values, key=lambda m: rank.get(m, len(rank)))[:k]:
                if v not in out:
                    out.append(v)

        for total, members in dim.member_line(c):
            if total not in out:
                out.append(total)
            add([m for m in members if m != c])
        for node in list(out):
            for total, members in dim.total_lines(node):
                add([m for m in members if m not in out])
        return out

    def _local_lp(self, name: str, cell, orders, scale: float) -> tuple[float, dict] | None:
        """The cheapest certificate moving ``cell`` by ``scale`` inside a local window, by linear programming.

        Counts outside the window stay at their true values, so any solution is a certificate (a
        complete consistent set of counts); the programme pays for each count it must move beyond its
        rounding interval, in proportion to the count, as Tau-Argus's optimal suppression does.
        """
        from scipy.optimize import linprog
        from scipy.sparse import coo_matrix

        windows = [self._window(d, cell[d], orders[d]) for d in range(4)]
        chain = [name]
        while self.cubes[chain[-1]].within is not None:
            chain.append(self.cubes[chain[-1]].within)
        grids = np.meshgrid(*[np.asarray(w) for w in windows], indexing="ij")
        a, y, f, g = (x.ravel() for x in grids)
        n = len(a)
        local = {tuple(int(v) for v in key): i for i, key in enumerate(zip(a, y, f, g))}
        nvar_y = n * len(chain)
        # Variables: y (moves) for each cube in the chain, then p, q (moves beyond the slack) per cell.
        lower, upper, costs = [], [], []
        extra = []  # (cube index, cell index) of cells that may be suppressed at a cost
        for ci, cname in enumerate(chain):
            cube = self.cubes[cname]
            values = cube.values[a, y, f, g].astype(float)
            st = self.status[cname][a, y, f, g]
            shown = st != ABSENT
            hidden = (st == PRIMARY) | (st == SECONDARY)
            lo = np.where(shown, self.floor - values, -values)
            hi = np.full(n, np.inf)
            fixed = (values == 0) | (~cube.controlled & shown)
            visible = shown & ~hidden & ~fixed & cube.controlled
            # A visible count moves freely within its rounding interval, beyond it at a cost.
            lo_free = np.where(visible, -self.down[cname][a, y, f, g], lo)
            hi_free = np.where(visible, self.up[cname][a, y, f, g], hi)
            for child in self.children[cname]:
                if child not in chain:
                    cv = self.cubes[child].values[a, y, f, g]
                    lo = np.maximum(lo, cv - values)
                    lo_free = np.maximum(lo_free, cv - values)
            lo_free = np.where(fixed, 0, lo_free)
            hi_free = np.where(fixed, 0, hi_free)
            lower.append(lo_free)
            upper.append(hi_free)
            costs.append(np.zeros(n))
            for i in np.flatnonzero(visible):
                extra.append((ci, i, float(values[i]) * self.weight[cname] / self.width, lo[i]))
        lower = np.concatenate(lower)
        upper = np.concatenate(upper)
        cost = np.concatenate(costs)
        m_extra = len(extra)
        # p and q for each extra cell: y = s + p - q with s in the free interval.
        rows, cols, vals, rhs = [], [], [], []
        r = 0

        def var(ci: int, i: int) -> int:
            return ci * n + i

        # Lines along each dimension, at every combination of the other dimensions' window values.
        for ci in range(len(chain)):
            for d, dim in enumerate(self.dims):
                wset = set(windows[d])
                for total, members in dim.lines:
                    inside = [m for m in members if m in wset]
                    if total not in wset and not inside:
                        continue
                    others = [windows[e] for e in range(4) if e != d]
                    for rest in itertools.product(*others):
                        def at(v):
                            key = list(rest)
                            key.insert(d, v)
                            return local[tuple(key)]
                        terms = [(var(ci, at(mm)), 1.0) for mm in inside]
                        if total in wset:
                            terms.append((var(ci, at(total)), -1.0))
                        for col, coef in terms:
                            rows.append(r)
                            cols.append(col)
                            vals.append(coef)
                        rhs.append(0.0)
                        r += 1
        # The excess moves enter the y variables through y - p + q = s, s in the free interval:
        # written as bounds on (y - p + q), one row per extra cell.
        eq_rows = r
        ub_rows, ub_cols, ub_vals, ub_rhs = [], [], [], []
        u = 0
        for j, (ci, i, c, lo_i) in enumerate(extra):
            col_y, col_p, col_q = var(ci, i), nvar_y + 2 * j, nvar_y + 2 * j + 1
            lo_f, hi_f = lower[col_y], upper[col_y]
            # y - p + q <= hi_f  and  -(y - p + q) <= -lo_f
            ub_rows += [u, u, u, u + 1, u + 1, u + 1]
            ub_cols += [col_y, col_p, col_q, col_y, col_p, col_q]
            ub_vals += [1.0, -1.0, 1.0, -1.0, 1.0, -1.0]
            ub_rhs += [hi_f, -lo_f]
            u += 2
            lower[col_y], upper[col_y] = lo_i, np.inf
        # Cubes inside one another: where both move, the inner stays inside the outer.
        for ci in range(len(chain) - 1):
            inner, outer = chain[ci], chain[ci + 1]
            gap = (self.cubes[outer].values[a, y, f, g] - self.cubes[inner].values[a, y, f, g]).astype(float)
            for i in range(n):
                ub_rows += [u, u]
                ub_cols += [var(ci, i), var(ci + 1, i)]
                ub_vals += [1.0, -1.0]
                ub_rhs.append(gap[i])
                u += 1
        nvar = nvar_y + 2 * m_extra
        c_all = np.concatenate([cost, np.repeat([e[2] for e in extra], 2) if extra else np.zeros(0)])
        bounds_lo = np.concatenate([lower, np.zeros(2 * m_extra)])
        bounds_hi = np.concatenate([upper, np.full(2 * m_extra, np.inf)])
        target = var(0, local[tuple(int(v) for v in cell)])
        bounds_lo[target] = bounds_hi[target] = scale
        if scale < lower[target] - 1e-9 or scale > upper[target] + 1e-9:
            if not any(e[0] == 0 and e[1] == target for e in extra):
                return None
        A_eq = coo_matrix((vals, (rows, cols)), shape=(eq_rows, nvar)).tocsr() if eq_rows else None
        A_ub = coo_matrix((ub_vals, (ub_rows, ub_cols)), shape=(u, nvar)).tocsr() if u else None
        result = linprog(c_all, A_ub=A_ub, b_ub=np.asarray(ub_rhs) if u else None, A_eq=A_eq,
                         b_eq=np.asarray(rhs) if eq_rows else None,
                         bounds=np.column_stack([bounds_lo, np.where(np.isinf(bounds_hi), None, bounds_hi)]),
                         method="highs")
        if result.status != 0:
            return None
        x = result.x
        touched = {}
        total_cost = 0.0
        for ci, cname in enumerate(chain):
            moves = x[ci * n:(ci + 1) * n]
            hide = np.zeros(n, dtype=bool)
            for j, (cj, i, c, _) in enumerate(extra):
                if cj == ci and (x[nvar_y + 2 * j] > 1e-7 or x[nvar_y + 2 * j + 1] > 1e-7):
                    hide[i] = True
                    total_cost += float(self.cubes[cname].values[a[i], y[i], f[i], g[i]]) * self.weight[cname]
            moving = np.abs(moves) > 1e-9
            if moving.any():
                touched[cname] = (a[moving], y[moving], f[moving], g[moving], moves[moving], hide[moving])
        return total_cost, touched

    def _fallback(self, name: str, cell, orders) -> tuple[float, dict]:
        """Raise the cell and every total above it (all plus signs), with the cubes containing it."""
        self.fallbacks += 1
        need = self.width - self.fall[name][cell]
        found = self._local_lp(name, cell, orders, need)
        if found is not None:
            return found
        cube = self.cubes[name]
        witness = cube.witness(cell) if cube.witness else None
        tries = [(orders, witness)] if witness else []
        # Without a witness: the next-largest values, rotated per dimension.
        for shift in range(0, 4):
            tries.append(([o[shift:] + o[:shift] for o in orders], None))
        for attempt, chosen in tries:
            patterns = [ancestor_pattern(self.dims[d], cell[d], attempt[d], chosen[d] if chosen else None)
                        for d in range(4)]
            if any(p is None for p in patterns):
                continue
            result = self._evaluate(name, patterns, co_parents=True, scale=self.width - self.fall[name][cell])
            if result is not None:
                return result
        raise RuntimeError(f"no certificate protects a cell of {name}: report this as a bug")

    def _free(self, name: str) -> np.ndarray:
        """Cells a reader cannot read: suppressed, or not published and not zero."""
        st = self.status[name]
        return (st == PRIMARY) | (st == SECONDARY) | ((st == ABSENT) & (self.cubes[name].values > 0))

    def line_rule(self) -> int:
        """Secondary suppression until no line holds exactly one cell a reader cannot read.

        A suppressed count alone in a line is its total minus the rest; a second unknown in the line
        is the first defence (the smallest published count in the line is taken). Fast, and most
        cells need nothing more; the certificates below prove it or add what is missing.
        """
        added = 0
        for _ in range(50):
            changed = 0
            for name, cube in self.cubes.items():
                if not cube.controlled:
                    continue
                st = self.status[name]
                for d, dim in enumerate(self.dims):
                    for total, members in dim.lines:
                        cells = [total, *members]
                        free = np.stack([np.take(self._free(name), c, axis=d) for c in cells])
                        exists = np.stack([np.take(cube.exists, c, axis=d) for c in cells])
                        stt = np.stack([np.take(st, c, axis=d) for c in cells])
                        vals = np.stack([np.take(cube.values, c, axis=d) for c in cells])
                        applies = exists.any(axis=0)
                        lonely = applies & (free.sum(axis=0) == 1)
                        if not lonely.any():
                            continue
                        candidate = (stt == PUBLISHED) & (vals > 0)
                        cost = np.where(candidate, vals, np.inf)
                        pick = np.argmin(cost, axis=0)
                        ok = lonely & np.isfinite(np.min(cost, axis=0))
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

    def run(self) -> None:
        self.line_rule()
        for name, cube in self.cubes.items():
            if not cube.controlled:
                continue
            primaries = np.argwhere(self.status[name] == PRIMARY)
            for cell in primaries:
                t = tuple(int(x) for x in cell)
                if self.proven(name, t):
                    continue
                self.protect_cell(name, t)
        # Secondary cells not yet in any certificate of their own get one (a cell can become
        # secondary in a parent cube through co-perturbation; those are covered already).
        for name, cube in self.cubes.items():
            if not cube.controlled:
                continue
            proven = self.rise[name] + self.fall[name] >= self.width - 1e-9
            pending = np.argwhere((self.status[name] == SECONDARY) & ~proven)
            for cell in pending:
                t = tuple(int(x) for x in cell)
                if not self.proven(name, t):
                    self.protect_cell(name, t)


def protect(dims: Sequence[Dimension], cubes: dict[str, Cube], rule: DisclosureRule,
            width: int | None = None) -> ProtectionReport:
    """Primary suppression by ``rule``, certificates for every suppressed cell, then rounding."""
    if len(dims) != 4:
        raise ValueError("cubes have four dimensions: area, year, filter, group")
    for name, cube in cubes.items():
        if cube.values.shape != tuple(d.size for d in dims):
            raise ValueError(f"cube {name!r} has shape {cube.values.shape}, not the dimensions' sizes")
        if np.any(cube.values < 0):
            raise ValueError(f"cube {name!r} has a negative count")
        _check_lines(dims, cube)
    linked = _Linked(dims, cubes, rule, rule.protection if width is None else width)
    linked.run()
    out = {}
    primary = secondary = 0
    for name, cube in cubes.items():
        status = linked.status[name]
        shown = np.full(cube.values.shape, -1, dtype=np.int64)
        visible = (status == PUBLISHED) | (status == ZERO)
        values = cube.values[visible]
        shown[visible] = values if not cube.controlled else rounded(values, rule)
        out[name] = Protected(status, shown)
        primary += int((status == PRIMARY).sum())
        secondary += int((status == SECONDARY).sum())
    return ProtectionReport(out, primary, secondary, linked.certificates, linked.fallbacks)


def rounded(values: np.ndarray, rule: DisclosureRule) -> np.ndarray:
    """Counts as the rule shows them (half up to the base, never below the smallest shown count)."""
    values = np.asarray(values, dtype=np.int64)
    if not rule.rounds:
        return values.copy()
    base = rule.rounding_base
    out = base * ((2 * values + base) // (2 * base))
    return np.where(values == 0, 0, np.maximum(out, rule.smallest_shown_count))


def rounding_interval(values: np.ndarray, rule: DisclosureRule) -> tuple[np.ndarray, np.ndarray]:
    """Every true count a reader could take a published count for, as (lowest, highest) arrays.

    Zero is exact; a rule without rounding shows counts exactly; small counts are not published, so
    their interval is their own value (they are suppressed, never read through this).
    """
    values = np.asarray(values, dtype=np.int64)
    if not rule.rounds:
        return values.copy(), values.copy()
    shown = rounded(values, rule)
    base = rule.rounding_base
    high = shown + (base + 1) // 2 - 1
    low = np.where(shown == rule.smallest_shown_count, rule.suppress_below,
                   np.maximum(shown - base // 2, rule.suppress_below))
    small = (values < rule.suppress_below)
    return np.where(small, values, low), np.where(small, values, high)


def lines_at(dims: Sequence[Dimension], exists: np.ndarray) -> Iterable[tuple[int, tuple[int, ...]]]:
    """Every line that applies (all its cells exist), as (flat total index, flat member indices)."""
    shape = tuple(d.size for d in dims)
    flat = np.arange(int(np.prod(shape))).reshape(shape)
    for d, dim in enumerate(dims):
        for total, members in dim.lines:
            t = np.take(flat, total, axis=d)
            ms = np.take(flat, list(members), axis=d)
            ok = np.take(exists, total, axis=d) & np.all(np.take(exists, list(members), axis=d), axis=d)
            for pos in zip(*np.nonzero(ok)):
                index = list(pos)
                yield int(t[tuple(index)]), tuple(int(x) for x in np.moveaxis(ms, d, -1)[tuple(index)])


def _check_lines(dims: Sequence[Dimension], cube: Cube) -> None:
    """Refuse a cube whose totals are not the sums of their members (a bug upstream, never data)."""
    v = cube.values
    for d, dim in enumerate(dims):
        for total, members in dim.lines:
            t = np.take(v, total, axis=d)
            s = np.take(v, list(members), axis=d).sum(axis=d)
            mask = np.take(cube.exists, total, axis=d) & np.all(np.take(cube.exists, list(members), axis=d), axis=d)
            if np.any((t != s) & mask):
                raise ValueError(f"cube {cube.name!r}: a total along {dim.name} is not the sum of its members")
