"""Conditions on pipeline values, written with Python's own operators.

``mse <= 6.0`` (where ``mse`` is a :class:`~smdsl.JsonGet`), ``threshold > 0.5`` (a parameter),
``mode.is_in(["fast", "full"])``; combined with ``&`` (and), ``|`` (or) and ``~`` (not). A
condition has no truth value until the pipeline runs, so using one in an ``if``, with ``and``,
``or`` or ``not``, or in a chained comparison raises an error that names the operator to use.

This module knows operands only as :class:`Comparable` (parameters, step properties, JsonGet
values, execution variables) and literals; it imports nothing else of smdsl's values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Annotated, Any, ClassVar, Literal, NoReturn

from pydantic import BaseModel, BeforeValidator, ConfigDict

ComparisonType = Literal[
    "Equals",
    "NotEquals",  # written as Not(Equals): SageMaker has no NotEquals condition
    "LessThan",
    "LessThanOrEqualTo",
    "GreaterThan",
    "GreaterThanOrEqualTo",
]

OPERATORS: dict[str, str] = {
    "Equals": "==",
    "NotEquals": "!=",
    "LessThan": "<",
    "LessThanOrEqualTo": "<=",
    "GreaterThan": ">",
    "GreaterThanOrEqualTo": ">=",
}

_MIRRORED = {
    "LessThan": "GreaterThan",
    "LessThanOrEqualTo": "GreaterThanOrEqualTo",
    "GreaterThan": "LessThan",
    "GreaterThanOrEqualTo": "LessThanOrEqualTo",
}

_NO_TRUTH = (
    "a condition has no truth value until the pipeline runs, so Python's if, and, or, not and "
    "chained comparisons (a < b < c) cannot use it: combine conditions with & (and), | (or) and "
    "~ (not), each comparison in parentheses, e.g. (mse <= 6.0) & ~(mode == 'fast'), test "
    "membership with value.is_in([...]) rather than `in`, and pass the result to "
    "Condition(when=...)"
)


def _is_literal(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, (str, int, bool))


def is_operand(value: object) -> bool:
    """Whether ``value`` may stand on one side of a comparison."""
    return _is_literal(value) or isinstance(value, Comparable)


def _operand(value: Any) -> Any:
    if not is_operand(value):
        shown = type(value).__name__
        raise ValueError(
            "an operand of a condition is a string, a number, a boolean, a parameter, a step "
            f"property, a JsonGet value or an execution variable, not a {shown}"
        )
    return value


Operand = Annotated[Any, BeforeValidator(_operand)]
"""A literal or a :class:`Comparable` pipeline value."""


class Comparable:
    """A pipeline value that comparisons accept: ``value <= 6.0`` gives a :class:`Comparison`.

    Two values of the same class compare as Python objects (``param_a == param_a`` is True);
    anything else builds a condition.
    """

    value_type: ClassVar[str | None] = None  # "String", "Integer", "Float", "Boolean" or unknown

    @property
    def operand_type(self) -> str | None:
        """The type this value has when the pipeline runs, when known."""
        return self.value_type

    def label(self) -> str:
        """How messages name this value."""
        return str(self)

    def _compare(self, kind: str, other: object) -> Any:
        if not is_operand(other):
            return NotImplemented
        return Comparison(type=kind, left=self, right=other)

    def __eq__(self, other: object) -> Any:
        if type(other) is type(self):
            return _same(self, other)
        return self._compare("Equals", other)

    def __ne__(self, other: object) -> Any:
        if type(other) is type(self):
            return not _same(self, other)
        return self._compare("NotEquals", other)

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(self.__dict__)))

    def __lt__(self, other: object) -> Any:
        return self._compare("LessThan", other)

    def __le__(self, other: object) -> Any:
        return self._compare("LessThanOrEqualTo", other)

    def __gt__(self, other: object) -> Any:
        return self._compare("GreaterThan", other)

    def __ge__(self, other: object) -> Any:
        return self._compare("GreaterThanOrEqualTo", other)

    def is_in(self, values: Iterable[object]) -> IsIn:
        """The condition that this value is one of ``values`` (Python's ``in`` cannot be)."""
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise TypeError(
                f"is_in() takes a list of values, e.g. is_in(['a', 'b']), not {values!r}"
            )
        return IsIn(value=self, values=tuple(values))

    def __bool__(self) -> NoReturn:
        raise TypeError(_NO_TRUTH)

    def __and__(self, other: object) -> NoReturn:
        raise TypeError(_PRECEDENCE)

    __rand__ = __or__ = __ror__ = __and__


_PRECEDENCE = (
    "& and | bind more tightly than comparisons in Python: put each comparison in parentheses, "
    "e.g. (mse <= 6.0) & (accuracy >= 0.8)"
)


def _same(left: object, right: object) -> bool:
    """Equal as declarations: the same fields (where each was declared does not count)."""
    return (
        isinstance(left, BaseModel)
        and isinstance(right, BaseModel)
        and (left.__dict__ == right.__dict__)
    )


class Predicate(BaseModel):
    """Base of every condition: ``&``, ``|`` and ``~`` combine them, ``bool()`` refuses."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def __and__(self, other: object) -> AllOf:
        return AllOf(conditions=(*_parts(self, AllOf), *_parts(_condition(other, "&"), AllOf)))

    def __or__(self, other: object) -> AnyOf:
        return AnyOf(conditions=(*_parts(self, AnyOf), *_parts(_condition(other, "|"), AnyOf)))

    def __invert__(self) -> Predicate:
        return self.condition if isinstance(self, Not) else Not(condition=self)

    def __rand__(self, other: object) -> AllOf:
        return _condition(other, "&") & self

    def __ror__(self, other: object) -> AnyOf:
        return _condition(other, "|") | self

    def __bool__(self) -> NoReturn:
        raise TypeError(_NO_TRUTH)


def _condition(value: object, operator: str) -> Predicate:
    if isinstance(value, Predicate):
        return value
    raise TypeError(
        f"{operator} combines two conditions, not a condition and {value!r}; {_PRECEDENCE}"
    )


def _parts(condition: Predicate, kind: type[AllOf] | type[AnyOf]) -> tuple[Predicate, ...]:
    return condition.conditions if isinstance(condition, kind) else (condition,)


class Comparison(Predicate):
    """``left <op> right``: built by comparing a pipeline value with ``==``, ``<``, ..."""

    type: ComparisonType
    left: Operand
    right: Operand

    def __str__(self) -> str:
        return f"{_text(self.left)} {OPERATORS[self.type]} {_text(self.right)}"


class IsIn(Predicate):
    """``value.is_in([...])``: the value is one of the values."""

    value: Operand
    values: tuple[Operand, ...]

    def __str__(self) -> str:
        return f"{_text(self.value)}.is_in([{', '.join(_text(v) for v in self.values)}])"


class _Combination(Predicate):
    """Conditions combined: their comparisons are found inside each of them."""

    conditions: tuple[Predicate, ...]
    joiner: ClassVar[str] = ""

    def __str__(self) -> str:
        return f" {self.joiner} ".join(f"({c})" for c in self.conditions)


class AllOf(_Combination):
    """Every condition holds: ``a & b``."""

    joiner: ClassVar[str] = "&"


class AnyOf(_Combination):
    """At least one condition holds: ``a | b``."""

    joiner: ClassVar[str] = "|"


class Not(Predicate):
    """The condition does not hold: ``~a``."""

    condition: Predicate

    def __str__(self) -> str:
        return f"~({self.condition})"


def _text(value: object) -> str:
    return value.label() if isinstance(value, Comparable) else repr(value)


def literal_type(value: object) -> str | None:
    """The pipeline type of an operand: a literal's, or a value's when known."""
    if isinstance(value, Comparable):
        return value.operand_type
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "Float"
    if isinstance(value, str):
        return "String"
    return None


def type_problem(found: Comparison | IsIn) -> str | None:
    """Why the operands of ``found`` cannot be compared when the pipeline runs, if they cannot.

    Numbers (Integer and Float) compare with each other; a String only with a String, a
    Boolean only with a Boolean; an operand of unknown type (a JsonGet without ``type=``, a step
    property) with anything.
    """
    if isinstance(found, Comparison):
        pairs = [(found.left, found.right)]
    else:
        pairs = [(found.value, v) for v in found.values]
    for left, right in pairs:
        a, b = literal_type(left), literal_type(right)
        if a is None or b is None or _family(a) == _family(b):
            continue
        return (
            f"{found} compares {_described(left, a)} with {_described(right, b)}; SageMaker "
            "compares numbers with numbers, strings with strings and booleans with booleans"
        )
    return None


def _family(kind: str) -> str:
    return "number" if kind in ("Integer", "Float") else kind


def _described(value: object, kind: str) -> str:
    if isinstance(value, Comparable):
        return f"{value.label()} ({kind})"
    return f"{kind.lower() if kind != 'String' else 'the string'} {value!r}"


__all__ = [
    "AllOf",
    "AnyOf",
    "Comparable",
    "Comparison",
    "IsIn",
    "Not",
    "Predicate",
    "literal_type",
    "type_problem",
]
