"""The form's logic (XLSForm ``relevant`` and ``constraint`` cells) read by us as ODK reads it.

The ingest checks every answer against the form's skip logic and constraints, so it has to evaluate
them as ODK Collect and Enketo do. The form uses a small part of XPath and this module reads exactly
that part; anything else is refused when the form is loaded, never guessed at:

- ``${name}`` (another item's answer, as text; empty when not answered), ``.`` (this item's answer);
- strings in single or double quotes, and numbers;
- ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``and``, ``or`` and parentheses;
- ``selected(x, 'v')``, ``count-selected(x)``, ``not(e)``, ``string-length(x)``, ``today()``.

Comparisons follow XPath 1.0: numbers where both sides read as numbers (or one side is a number),
else strings; ``today()`` is a date, compared with an ISO date answer as a date. The same tree is
written as REDCap branching logic (``[name] = 'v'``, ``[name(v)] = '1'``) for the data dictionary.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(r"""\s*(?:
    (?P<ref>\$\{[A-Za-z_][A-Za-z0-9_]*\})
  | (?P<string>'[^']*'|"[^"]*")
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<op><=|>=|!=|=|<|>|\(|\)|,)
  | (?P<name>[a-z][a-z-]*)
  | (?P<dot>\.)
)""", re.VERBOSE)

FUNCTIONS = {"selected": 2, "count-selected": 1, "not": 1, "string-length": 1, "today": 0}
COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")


class ExpressionError(ValueError):
    """A cell of the form's logic outside the part of XPath the form may use."""


@dataclass(frozen=True)
class Node:
    kind: str  # "ref", "dot", "string", "number", "call", "compare", "and", "or"
    value: Any = None
    args: tuple[Node, ...] = ()


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExpressionError(f"cannot read {text!r} from character {pos + 1}")
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def parse(text: str) -> Node:
    """The tree of one ``relevant`` or ``constraint`` cell."""
    tokens = _tokens(text)
    pos = 0

    def peek() -> tuple[str, str] | None:
        return tokens[pos] if pos < len(tokens) else None

    def take(value: str | None = None) -> tuple[str, str]:
        nonlocal pos
        token = peek()
        if token is None or (value is not None and token[1] != value):
            raise ExpressionError(f"in {text!r}: expected {value or 'more'}")
        pos += 1
        return token

    def expr_or() -> Node:
        node = expr_and()
        while peek() == ("name", "or"):
            take()
            node = Node("or", args=(node, expr_and()))
        return node

    def expr_and() -> Node:
        node = comparison()
        while peek() == ("name", "and"):
            take()
            node = Node("and", args=(node, comparison()))
        return node

    def comparison() -> Node:
        node = operand()
        token = peek()
        if token and token[0] == "op" and token[1] in COMPARISONS:
            take()
            node = Node("compare", token[1], (node, operand()))
        return node

    def operand() -> Node:
        kind, value = take()
        if kind == "ref":
            return Node("ref", value[2:-1])
        if kind == "dot":
            return Node("dot")
        if kind == "string":
            return Node("string", value[1:-1])
        if kind == "number":
            return Node("number", float(value))
        if kind == "op" and value == "(":
            node = expr_or()
            take(")")
            return node
        if kind == "name" and value in FUNCTIONS:
            take("(")
            args = []
            while peek() != ("op", ")"):
                args.append(expr_or())
                if peek() == ("op", ","):
                    take()
            take(")")
            if len(args) != FUNCTIONS[value]:
                raise ExpressionError(f"in {text!r}: {value}() takes {FUNCTIONS[value]} arguments")
            return Node("call", value, tuple(args))
        raise ExpressionError(f"in {text!r}: {value!r} is not part of the form's logic")

    node = expr_or()
    if peek() is not None:
        raise ExpressionError(f"in {text!r}: unexpected {peek()[1]!r}")
    return node


def references(node: Node) -> set[str]:
    """The items an expression reads."""
    out = {node.value} if node.kind == "ref" else set()
    for a in node.args:
        out |= references(a)
    return out


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _compare(op: str, left: Any, right: Any) -> bool:
    if isinstance(left, dt.date) or isinstance(right, dt.date):
        try:
            left, right = (v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v)) for v in (left, right))
        except ValueError:
            return False
    elif isinstance(left, float) or isinstance(right, float) or op not in ("=", "!="):
        a, b = _number(left), _number(right)
        if a is None or b is None:
            return op == "!="
        left, right = a, b
    else:
        left, right = str(left), str(right)
    return {"=": left == right, "!=": left != right, "<": left < right, "<=": left <= right,
            ">": left > right, ">=": left >= right}[op]


def evaluate(node: Node, answers: dict[str, str], here: str = "", today: dt.date | None = None) -> Any:
    """The value of an expression for one response (``answers``: item -> text, empty if none)."""
    k = node.kind
    if k == "ref":
        return answers.get(node.value, "")
    if k == "dot":
        return here
    if k in ("string", "number"):
        return node.value
    if k == "and":
        return bool(evaluate(node.args[0], answers, here, today)) and bool(evaluate(node.args[1], answers, here, today))
    if k == "or":
        return bool(evaluate(node.args[0], answers, here, today)) or bool(evaluate(node.args[1], answers, here, today))
    if k == "compare":
        return _compare(node.value, *(evaluate(a, answers, here, today) for a in node.args))
    args = [evaluate(a, answers, here, today) for a in node.args]
    if node.value == "selected":
        return str(args[1]) in str(args[0]).split()
    if node.value == "count-selected":
        return float(len(str(args[0]).split()))
    if node.value == "not":
        return not bool(args[0])
    if node.value == "string-length":
        return float(len(str(args[0])))
    return today or dt.date.today()  # today()


def to_redcap(node: Node) -> str:
    """The expression as REDCap branching logic; ExpressionError where REDCap has no equivalent."""
    k = node.kind
    if k == "ref":
        return f"[{node.value}]"
    if k == "string":
        return f"'{node.value}'"
    if k == "number":
        return f"{node.value:g}"
    if k in ("and", "or"):
        return f"({to_redcap(node.args[0])} {k} {to_redcap(node.args[1])})"
    if k == "compare":
        op = "<>" if node.value == "!=" else node.value
        return f"{to_redcap(node.args[0])} {op} {to_redcap(node.args[1])}"
    if k == "call" and node.value == "selected" and node.args[0].kind == "ref" and node.args[1].kind == "string":
        return f"[{node.args[0].value}({node.args[1].value})] = '1'"
    raise ExpressionError(f"REDCap branching logic has no form of {k} {node.value or ''}".rstrip())


def compile_expression(node: Node):
    """``f(answers, here, today)``: the expression as a Python closure, the same result as ``evaluate``
    without walking the tree for every response (the ingest checks each row's logic with these)."""
    k = node.kind
    if k == "ref":
        name = node.value
        return lambda a, h, t: a.get(name, "")
    if k == "dot":
        return lambda a, h, t: h
    if k in ("string", "number"):
        value = node.value
        return lambda a, h, t: value
    parts = [compile_expression(x) for x in node.args]
    if k == "and":
        left, right = parts
        return lambda a, h, t: bool(left(a, h, t)) and bool(right(a, h, t))
    if k == "or":
        left, right = parts
        return lambda a, h, t: bool(left(a, h, t)) or bool(right(a, h, t))
    if k == "compare":
        op, (left, right) = node.value, parts
        if op in ("=", "!=") and node.args[1].kind == "string" and node.args[0].kind in ("ref", "dot"):
            constant, equal = node.args[1].value, op == "="
            return lambda a, h, t: (str(left(a, h, t)) == constant) is equal
        return lambda a, h, t: _compare(op, left(a, h, t), right(a, h, t))
    if node.value == "selected":
        left, right = parts
        return lambda a, h, t: str(right(a, h, t)) in str(left(a, h, t)).split()
    if node.value == "count-selected":
        (arg,) = parts
        return lambda a, h, t: float(len(str(arg(a, h, t)).split()))
    if node.value == "not":
        (arg,) = parts
        return lambda a, h, t: not bool(arg(a, h, t))
    if node.value == "string-length":
        (arg,) = parts
        return lambda a, h, t: float(len(str(arg(a, h, t))))
    return lambda a, h, t: t or dt.date.today()
