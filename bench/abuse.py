"""A normal query's latency while clients send documents built to exhaust the server.

Four attacker threads send, for 15 s, fan-out fragments (signed in and not), 1,000 aliases,
5,000-token documents, field-merge bombs, 100 KB of comment and a 5 MB body, each with fresh
names so no cache answers them. Meanwhile one client sends a normal query in a loop. Printed: the
normal query's latency before and during the attack, and how the attack documents were answered.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

ATTACKERS = 4
DURATION_S = 15.0
TARGET_MAX_S = 1.0


def _fan_out(levels: int = 30) -> str:
    tag = "f" + uuid.uuid4().hex[:8]
    body = " ".join(f"fragment {tag}{i} on Query {{ ...{tag}{i + 1} ...{tag}{i + 1} }}" for i in range(levels))
    return f"query {{ ...{tag}0 }} {body} fragment {tag}{levels} on Query {{ __typename }}"


def _tag() -> str:
    return uuid.uuid4().hex[:6]


DOCUMENTS: dict[str, Callable[[], str]] = {
    "fan-out (2^30 spreads)": _fan_out,
    "1,000 aliases": lambda: "{ " + " ".join(f"a{_tag()}{i}: __typename" for i in range(1000)) + " }",
    "@include x800 (token limit)": lambda: "{ __typename" + f" @include(if: true) # {_tag()}\n" * 800 + " }",
    "__typename x2,400 (merge check)": lambda: f"# {_tag()}\n{{ " + "__typename " * 2400 + "}",
    "provinces x100 (merge check)": lambda: f"# {_tag()}\n{{ " + "provinces { totalCount } " * 100 + "}",
    "100 KB of comment": lambda: "{ __typename }\n#" + _tag() * 20_000,
}


def _attack(base: str, token: str, deadline: float, seen: Counter[str], times: list[float]) -> None:
    signed = {"authorization": f"Bearer {token}"}
    names = list(DOCUMENTS)
    with httpx.Client(base_url=base, timeout=120) as client:
        i = 0
        while time.monotonic() < deadline:
            name = names[i % len(names)]
            started = time.perf_counter()
            if i % (len(names) + 2) == len(names):
                response = client.post("/graphql", json={"query": _fan_out()})  # not signed in
                name = "fan-out, not signed in"
            elif i % (len(names) + 2) == len(names) + 1:
                response = client.post("/graphql", content=b'{"query": "' + b"x" * 5_000_000 + b'"}', headers=signed)
                name = "5 MB body"
            else:
                response = client.post("/graphql", json={"query": DOCUMENTS[name]()}, headers=signed)
            times.append(time.perf_counter() - started)
            codes = [e.get("extensions", {}).get("code") for e in response.json().get("errors", [])]
            seen[f"{name}: HTTP {response.status_code} {','.join(str(c) for c in codes) or 'data'}"] += 1
            i += 1


def _normal(base: str, token: str, query: str, variables: list[dict[str, Any]], until: Callable[[], bool]) -> list[float]:
    times = []
    with httpx.Client(base_url=base, headers={"authorization": f"Bearer {token}"}, timeout=120) as client:
        i = 0
        while not until():
            started = time.perf_counter()
            body = client.post("/graphql", json={"query": query, "variables": variables[i % len(variables)]}).json()
            times.append(time.perf_counter() - started)
            assert "errors" not in body, body
            i += 1
    return times


def measure(base: str, token: str, query: str, variables: list[dict[str, Any]]) -> dict[str, Any]:
    """Latencies (ms) of `query` alone and under attack, and what the attackers got back."""
    count = iter(range(60))
    baseline = _normal(base, token, query, variables, lambda: next(count, None) is None)
    deadline = time.monotonic() + DURATION_S
    seen: Counter[str] = Counter()
    attack_times: list[float] = []
    attackers = [threading.Thread(target=_attack, args=(base, token, deadline, seen, attack_times))
                 for _ in range(ATTACKERS)]
    for thread in attackers:
        thread.start()
    time.sleep(0.5)  # let the attack start before measuring
    during = _normal(base, token, query, variables, lambda: time.monotonic() >= deadline)
    for thread in attackers:
        thread.join()

    def ms(values: list[float], q: float) -> float:
        return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) > 1 else values[0] * 1000

    return {
        "baseline_p50": ms(baseline, 50), "p50": ms(during, 50), "p95": ms(during, 95), "max": max(during) * 1000,
        "normal_requests": len(during), "attack_requests": len(attack_times), "attack_p50": ms(attack_times, 50),
        "attack_max": max(attack_times) * 1000, "answers": dict(seen),
    }


def refusal_costs(repeats: int = 5) -> dict[str, float]:
    """In-process CPU time (ms, median) to parse and refuse each attack document: what one such
    request costs the event loop before it is answered."""
    from graphql import parse

    from schema.limits import Limits, shape_problem

    limits = Limits()
    costs = {}
    for name, make in DOCUMENTS.items():
        times = []
        for _ in range(repeats):
            query = make()
            started = time.perf_counter()
            if len(query.encode()) <= limits.max_bytes:
                try:
                    shape_problem(parse(query, max_tokens=limits.max_tokens), limits)
                except Exception:  # the token limit: refused while parsing  # noqa: BLE001
                    pass
            times.append((time.perf_counter() - started) * 1000)
        costs[name] = statistics.median(times)
    return costs


def report(result: dict[str, Any]) -> str:
    verdict = "meets" if result["max"] <= TARGET_MAX_S * 1000 else "MISSES"
    lines = [
        f"{'normal query while 4 clients attack for 15 s':<48} p50 {result['p50']:8.1f} ms  p95 {result['p95']:8.1f} ms  "
        f"max {result['max']:8.1f} ms (alone: p50 {result['baseline_p50']:.1f} ms, {result['normal_requests']} requests) "
        f"| target max ≤ {TARGET_MAX_S:g} s: {verdict}",
        f"{'attack documents refused':<48} {result['attack_requests']:,} requests, p50 {result['attack_p50']:.1f} ms, "
        f"max {result['attack_max']:.1f} ms",
    ]
    lines += [f"    {answer}: {n:,}" for answer, n in sorted(result["answers"].items())]
    lines += [f"    refusing {name} costs {ms:.1f} ms of CPU (parse + shape check, in process)"
              for name, ms in refusal_costs().items()]
    return "\n".join(lines)
