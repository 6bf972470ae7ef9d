"""Pieces of the planning SQL that PostgreSQL and SQLite both run: a query assembled from common
table expressions with their parameters in order, and the expressions the two write differently."""

from __future__ import annotations

from django.db import connection


def table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def as_float(expression: str) -> str:
    # PostgreSQL sums integers as numeric, whose arithmetic and square roots are exact and slow;
    # SQLite divides integers as integers.
    return f"CAST({expression} AS DOUBLE PRECISION)"


def as_wide(expression: str) -> str:
    """An integer in a type whose products and sums cannot overflow: a day's demand may pass 3·10⁹
    units, and its square then passes even 64 bits. PostgreSQL keeps it exact as numeric; SQLite
    has no wider integer, and raises on a SUM of integers that overflows, so it gets a float."""
    kind = "NUMERIC" if connection.vendor == "postgresql" else "REAL"
    return f"CAST({expression} AS {kind})"


def fence() -> str:
    """Keeps a subquery planned on its own (neither merged into the query around it nor written
    out to a temporary store), so its rows are filtered, and its columns computed, once."""
    return " OFFSET 0" if connection.vendor == "postgresql" else " LIMIT -1 OFFSET 0"


def greatest(a: str, b: str) -> str:
    return f"(CASE WHEN {a} > {b} THEN {a} ELSE {b} END)"


def days_between(later: str, earlier: str) -> str:
    if connection.vendor == "postgresql":
        return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400.0)"
    return f"(julianday({later}) - julianday({earlier}))"


def z_sql(level: str) -> str:
    """Acklam's approximation of the standard normal quantile of `level` (0 < level < 1)."""
    a = (-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.3577518672690,
         -30.66479806614716, 2.506628274631000)  # fmt: skip
    b = (-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972,
         -13.28068155288572)  # fmt: skip
    c = (-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734,
         4.374664141464968, 2.938163982698783)  # fmt: skip
    d = (0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416)

    def poly(coefs, x):
        text = repr(coefs[0])
        for coef in coefs[1:]:
            text = f"({text}) * {x} + ({coef!r})"
        return text

    q = f"({level} - 0.5)"
    r = f"({q} * {q})"
    central = f"({poly(a, r)}) * {q} / (({poly(b, r)}) * {r} + 1.0)"
    lower_t = f"SQRT(-2.0 * LN({level}))"
    upper_t = f"SQRT(-2.0 * LN(1.0 - {level}))"
    lower = f"({poly(c, lower_t)}) / (({poly(d, lower_t)}) * {lower_t} + 1.0)"
    upper = f"-({poly(c, upper_t)}) / (({poly(d, upper_t)}) * {upper_t} + 1.0)"
    return (
        f"(CASE WHEN {level} < 0.02425 THEN {lower} "
        f"WHEN {level} > 0.97575 THEN {upper} ELSE {central} END)"
    )


class Query:
    """Assembles the pass: common table expressions in order, with their parameters in order."""

    def __init__(self):
        self.ctes: list[str] = []
        self.params: list = []

    def cte(self, text: str, *params) -> None:
        self.ctes.append(text)
        self.params.extend(params)

    def sql(self, select: str, *params) -> tuple[str, list]:
        return "WITH " + ",\n".join(self.ctes) + "\n" + select, [*self.params, *params]
