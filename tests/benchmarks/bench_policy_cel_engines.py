"""The CEL implementations on PyPI side by side, as the policy service uses CEL: semantics and speed.

cel-expr-python (Google's cel-cpp binding: the engine a user would otherwise pick, and the baseline every
ratio is against), common-expression-language (Rust `cel` crate), cel-python (pure Python, `celpy`), the
service's native fast path alone, and the service's RuleEngine as Evaluate uses it (fast path, cel-cpp
for rules outside its subset and for inputs it defers). Correctness: the semantics table below (expected
per the CEL spec; "ERR" = must be an error, never a silent value). Speed: evaluations per second on a
realistic resource, with the variables converted per resource as an audit must do, for two rule sets:
the built-in rules (inside the fast path's subset) and rules outside it (optionals, timestamps, string and
math extensions, macros over mapped lists, cel.bind). No database is involved (in-process).

    uv run python tests/benchmarks/bench_policy_cel_engines.py [--quick]
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import cel as rust_cel
import celpy
from cel_expr_python import cel as cpp_cel
from cel_expr_python.ext import ext_bindings, ext_math, ext_optional, ext_strings
from google.protobuf import timestamp_pb2
from paved_policy.fastpath import Defer, compile_fast
from paved_policy.rules import RuleEngine, RuleError

ERR = "ERR"
RESOURCE = {
    "name": "payments-db",
    "type": "database",
    "tags": {"owner": "payments", "team": "payments", "environment": "production", "service": "ledger"},
    "properties": {
        "engine": "postgres",
        "encrypted": True,
        "storage_gb": 100.0,
        "replicas": 3.0,
        "zones": ["eu-west-1a", "eu-west-1b"],
        "instance_class": "db.r5.large",
        "multi_az": True,
        "region": "eu-west-1",
        "estimated_monthly_cost": 812.5,
    },
}
CONTEXT = {
    "team": "payments",
    "environment": "production",
    "estimated_monthly_cost": 1234.5,
    "currency": "USD",
}
PARAMS = {"tags": ["owner", "cost_center", "environment"], "max": 5000.0}
CASES: list[tuple[str, Any]] = [
    ("has(resource.properties.encrypted)", True),
    ("has(resource.properties.missing)", False),
    ("resource.properties.missing == true", ERR),
    ("resource.tags.cost_center == 'x'", ERR),
    ("'cost_center' in resource.tags", False),
    ("params.tags.all(t, t in resource.tags)", False),
    ("params.tags.exists(t, t in resource.tags)", True),
    ("resource.properties.zones.exists_one(z, z.endsWith('1a'))", True),
    ("resource.name.startsWith('pay') && resource.name.endsWith('db') && resource.name.contains('-')", True),
    ("resource.name.matches('^[a-z]+-[a-z]+$')", True),
    ("resource.name.lowerAscii() == 'payments-db'", True),
    ("size(resource.name) == 11", True),
    ("resource.properties.storage_gb >= 100", True),
    ("resource.properties.replicas == 3", True),
    ("context.estimated_monthly_cost <= params.max", True),
    ("dyn(1) == 1.0", True),
    ("resource.properties.storage_gb > 'x'", ERR),
    ("resource.properties.missing || true", True),
    ("false && resource.properties.missing", False),
    ("resource.tags.?cost_center.orValue('none') == 'none'", True),
]
RULES = [
    "size(params.tags.filter(t, !(t in resource.tags) || resource.tags[t] == '')) == 0",
    "has(resource.properties.encrypted) && resource.properties.encrypted == true",
    "(has(resource.properties.estimated_monthly_cost) ? double(resource.properties.estimated_monthly_cost) "
    ": context.estimated_monthly_cost) <= double(params.max)",
    "resource.properties.engine in ['postgres', 'mysql']",
    "resource.tags.environment != 'production' || resource.properties.multi_az",
]
# Rules the fast path does not translate (checked at start-up): the service runs them on cel-cpp.
OUTSIDE_SUBSET = [
    "resource.tags.?cost_center.orValue('none') == 'none'",
    "context.time < timestamp('2027-01-01T00:00:00Z')",
    "resource.name.split('-').size() == 2",
    "math.greatest(resource.properties.replicas, 2.0) >= 3.0",
    "resource.properties.zones.map(z, z.substring(0, 9)).all(r, r == 'eu-west-1')",
    "cel.bind(t, resource.tags, t.owner == t.team)",
]


def _cpp() -> tuple[Callable[[str], Any], Callable[[Any, dict[str, Any]], Any]]:
    string_map = cpp_cel.Type.Map(cpp_cel.Type.STRING, cpp_cel.Type.DYN)
    env = cpp_cel.NewEnv(
        variables={"resource": string_map, "context": string_map, "params": string_map},
        extensions=[
            ext_strings.ExtStrings(),
            ext_math.ExtMath(),
            ext_optional.ExtOptional(),
            ext_bindings.ExtBindings(),
        ],
    )

    def run(program: Any, data: dict[str, Any]) -> Any:
        value = program.eval(data=data)
        if value.type() == cpp_cel.Type.ERROR:
            raise RuntimeError(value.value())
        return value.value()

    return env.compile, run


def _rust(with_stdlib: bool = True) -> tuple[Callable[[str], Any], Callable[[Any, dict[str, Any]], Any]]:
    def run(program: Any, data: dict[str, Any]) -> Any:
        context = rust_cel.Context(data)
        if with_stdlib:  # lowerAscii & co. are Python callbacks there; the timed rules need none
            rust_cel.stdlib.add_stdlib_to_context(context)
        return program.execute(context)

    return rust_cel.compile, run


def _celpy() -> tuple[Callable[[str], Any], Callable[[Any, dict[str, Any]], Any]]:
    environment = celpy.Environment()

    def compile_(expression: str) -> Any:
        return environment.program(environment.compile(expression))

    def run(program: Any, data: dict[str, Any]) -> Any:
        result = program.evaluate({k: celpy.json_to_cel(v) for k, v in data.items()})
        if isinstance(result, Exception):
            raise result
        return bool(result) if isinstance(result, celpy.celtypes.BoolType) else result

    return compile_, run


def _fast() -> tuple[Callable[[str], Any], Callable[[Any, dict[str, Any]], Any]]:
    def compile_(expression: str) -> Any:
        program = compile_fast(expression, frozenset({"resource", "context", "params"}))
        if program is None:
            raise ValueError("outside the fast path's subset (the service then uses cel-cpp)")
        return program

    def run(program: Any, data: dict[str, Any]) -> Any:
        try:
            return program(data)
        except Defer:
            raise RuntimeError("deferred to cel-cpp") from None

    return compile_, run


def _paved() -> tuple[Callable[[str], Any], Callable[[Any, dict[str, Any]], Any]]:
    engine = RuleEngine()

    converted: dict[int, dict[str, Any]] = {}

    def run(rule: Any, data: dict[str, Any]) -> Any:
        if rule.fast is not None:
            try:
                return rule.fast(data)
            except Defer:
                pass
        # Evaluate converts the context for cel-cpp once per call, not once per rule and resource.
        context = converted.get(id(data["context"]))
        if context is None:
            context = dict(data["context"])
            stamp = timestamp_pb2.Timestamp()
            stamp.FromDatetime(context["time"])
            context["time"] = stamp
            converted[id(data["context"])] = context
        outcome = engine.evaluate(rule, {**data, "context": context})
        if isinstance(outcome, RuleError):
            raise RuntimeError(outcome.message)
        return outcome

    return engine.compile, run


BASELINE = "cel-expr-python (cel-cpp)"
ENGINES = {
    BASELINE: _cpp,
    "common-expression-language (Rust)": _rust,
    "cel-python (pure Python)": _celpy,
    "paved fast path alone (subset)": _fast,
    "paved RuleEngine (fast path + cel-cpp)": _paved,
}


def data_for(engine: str) -> dict[str, Any]:
    context: dict[str, Any] = dict(CONTEXT)
    if engine.startswith("cel-expr"):
        stamp = timestamp_pb2.Timestamp()
        stamp.FromDatetime(datetime(2026, 6, 1, tzinfo=UTC))
        context["time"] = stamp
    else:
        context["time"] = datetime(2026, 6, 1, tzinfo=UTC)
    return {"resource": RESOURCE, "context": context, "params": PARAMS}


def correctness(name: str) -> tuple[int, list[str]]:
    compile_, run = ENGINES[name]()
    data = data_for(name)
    passed, notes = 0, []
    for expression, expected in CASES:
        try:
            got: Any = run(compile_(expression), data)
            got = bool(got) if isinstance(got, bool) else got
        except Exception as exc:  # each engine signals errors its own way
            got = ERR
            reason = str(exc).splitlines()[0][:70]
        else:
            reason = repr(got)
        if got == expected and type(got) is type(expected):
            passed += 1
        else:
            notes.append(f"{expression}  expected {expected}, got {reason}")
    return passed, notes


def speed(name: str, seconds: float, rules: list[str]) -> float:
    timed_rules_need_stdlib = rules is OUTSIDE_SUBSET
    if name.startswith("common") and not timed_rules_need_stdlib:
        compile_, run = _rust(with_stdlib=False)
    else:
        compile_, run = ENGINES[name]()
    data = data_for(name)
    programs = []
    for rule in rules:
        try:
            programs.append(compile_(rule))
        except Exception:
            return float("nan")
    evaluations = 0
    deadline = time.perf_counter() + seconds
    start = time.perf_counter()
    while time.perf_counter() < deadline:
        for _ in range(20 if rules is RULES else 5):
            # A fresh copy per resource: engines that convert eagerly pay for it as an audit would.
            resource = {
                **RESOURCE,
                "tags": dict(RESOURCE["tags"]),
                "properties": dict(RESOURCE["properties"]),
            }
            bindings = {**data, "resource": resource}
            for program in programs:
                run(program, bindings)
            evaluations += len(programs)
    return evaluations / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args()
    seconds = 0.3 if args.quick else 2.0
    fast_path = frozenset({"resource", "context", "params"})
    assert all(compile_fast(rule, fast_path) is not None for rule in RULES)
    assert all(compile_fast(rule, fast_path) is None for rule in OUTSIDE_SUBSET)
    print(f"database: none (in-process); load average {os.getloadavg()[0]:.2f}")
    inside: dict[str, float] = {}
    outside: dict[str, float] = {}
    print(f"{'engine':<40} semantics   built-in rules/s   outside-subset rules/s")
    for name in ENGINES:
        passed, notes = correctness(name)
        inside[name] = speed(name, seconds, RULES)
        outside[name] = speed(name, seconds, OUTSIDE_SUBSET)
        print(f"{name:<40} {passed:>2}/{len(CASES)}   {inside[name]:>16,.0f}   {outside[name]:>20,.0f}")
        for note in notes:
            print(f"    - {note}")
    print(
        f"ratios against {BASELINE} (the engine a user would pick), same run; "
        "nan = cannot compile every rule of the set:"
    )
    for name in ENGINES:
        if name == BASELINE:
            continue
        print(
            f"    {name:<40} built-in {inside[name] / inside[BASELINE]:5.2f}x   "
            f"outside subset {outside[name] / outside[BASELINE]:5.2f}x"
        )
    paved = "paved RuleEngine (fast path + cel-cpp)"
    slower = outside[paved] / outside[BASELINE]
    print(
        f"RuleEngine on rules outside the subset keeps >= 0.8x cel-cpp: "
        f"{'met' if not math.isnan(slower) and slower >= 0.8 else 'NOT met'} ({slower:.2f}x)"
    )


if __name__ == "__main__":
    main()
