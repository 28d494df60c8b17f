"""`make bench`: cold starts, AWS calls and units, depth and cost per endpoint, against targets.

Prints a table, states line by line whether each target is met, writes var/bench.json, and
exits 1 when a target is missed.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from infra.bench import coldstart, depth, hotkeys, journey, launch, targets
from infra.bench.cost import per_million
from infra.routes import ROOT, routes

VAR = ROOT / "var"


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def cold_start_section(report: dict[str, Any]) -> bool:
    cs = report["cold_start"] = coldstart.measure()
    print(f"== cold start of the packaged functions: import and init, {cs['clock']}, median of {cs['runs']}")
    print("   (each from its own unzipped zip beside the runtime's boto3; no bytecode is written)")
    print(f"   before: {cs['before']}; after: the bundle zips of infra/package.py, with bytecode")
    sizes = ", ".join(
        f"{bundle} {size['zip_mb'] or '-'} MB zipped / {size['unzipped_mb']} MB unzipped"
        for bundle, size in cs["sizes"].items()
    )
    print(f"   sizes: {sizes}")
    print(f"   floor       {cs['floor']['statement']:52} {cs['floor']['cpu_ms']:>7}")
    page = cs["page_library"]
    allowed = f"{page['module']}, allowed to the functions that render pages"
    print(f"   page library {allowed:51} {page['cpu_ms']:>7}")
    first = cs["first_template"]
    print(
        f"   a page function's first template ({first['template']}): {first['source_cpu_ms']} from source, "
        f"{first['compiled_cpu_ms']} precompiled by infra.package"
    )
    print(f"   {'function':22} {'bundle':8} {'before':>7} {'x floor':>8} {'after':>7} {'x floor':>8}")
    ok = True
    for name, row in cs["functions"].items():
        ok &= row["ok"]
        print(
            f"   {name:22} {row['bundle']:8} {row['before_cpu_ms']:>7} {row['before_floor_ratio']:>8} "
            f"{row['cpu_ms']:>7} {row['floor_ratio']:>8}  <= {row['floor_target']}: {_verdict(row['ok'])}"
        )
    return ok


def calls_section(report: dict[str, Any], measured: list[journey.Measured]) -> bool:
    memory = {f.name: f.memory_mb for f in coldstart.functions()}
    print("\n== calls and capacity per request: happy path, warm container, in-process against moto")
    print("   (units computed from item sizes by DynamoDB's rules: moto reports fixed figures)")
    print(
        f"   {'request':46} {'calls':>5} {'RRU':>5} {'WRU':>5} {'DDB $/M':>8} {'total $/M':>9} "
        f"{'moto ms':>7}  AWS calls"
    )
    rows = []
    for m in measured:
        cost = per_million(
            m.calls, m.read_units, m.write_units, m.function, memory[m.function], http=m.label[0] != "s"
        )
        rows.append(
            {
                "request": m.label,
                "function": m.function,
                "calls": m.calls,
                "read_units": m.read_units,
                "write_units": m.write_units,
                "units_by_call": m.units_by_call,
                "moto_ms": m.ms,
                "usd_per_million": {
                    "dynamodb": round(cost.dynamodb, 2),
                    "s3": round(cost.s3, 2),
                    "sns": round(cost.sns, 2),
                    "http_api": round(cost.http_api, 2),
                    "lambda": round(cost.lambda_, 2),
                    "lambda_assumed": {"memory_mb": memory[m.function], "duration_ms": cost.duration_ms},
                    "total": round(cost.total, 2),
                },
            }
        )
        print(
            f"   {m.label:46} {m.count:>5} {m.read_units:>5} {m.write_units:>5} {cost.dynamodb:>8.2f} "
            f"{cost.total:>9.2f} {m.ms:>7}  {' '.join(m.calls)}"
        )
    report["calls"] = rows
    driven = {m.label.split(" (")[0] for m in measured}
    missing = sorted(r.route_key for r in routes() if r.route_key not in driven)
    report["routes_not_driven"] = missing
    if missing:
        print(f"   not driven yet (no happy path in infra/bench/journey.py): {', '.join(missing)}")
    verdicts = targets.check_calls(measured)
    report["call_targets"] = [v.__dict__ for v in verdicts]
    print("\n== call targets")
    for v in verdicts:
        print(f"   {v.line()}")
    return all(v.ok for v in verdicts)


def depth_section(report: dict[str, Any], result: dict[str, Any], key: str = "depth") -> bool:
    report[key] = result
    first, deep = result["first"], result["deep"]
    spread = f", over {result['partitions']} partitions" if result["partitions"] > 1 else ""
    print(f"\n== depth: {result['comments']:,} comments{spread} (seeded in {result['seeded_in_s']} s)")
    print(
        f"   first page: {' '.join(first['calls'])}, {first['read_units']} RRU, {first['ms']} ms own "
        f"(+{first['moto_ms']} ms in moto)"
    )
    print(
        f"   page at comment {result['depth']:,}: {' '.join(deep['calls'])}, {deep['read_units']} RRU, "
        f"{deep['ms']} ms own (+{deep['moto_ms']} ms in moto)"
    )
    same = first["calls"] == deep["calls"]
    print(f"   same calls: {_verdict(same)}; read units ratio {result['units_ratio']}")
    within = result["time_ratio"] <= result["target_time_ratio"]
    print(
        f"   time ratio {result['time_ratio']} (the request's own time, median of {depth.TIMINGS}), "
        f"target <= {result['target_time_ratio']}: {_verdict(within)}"
    )
    return bool(result["ok"])


def hot_keys_section(report: dict[str, Any], profiles: dict[str, hotkeys.Profile]) -> bool:
    rows = hotkeys.apply_mix(profiles)
    report["hot_keys"] = {
        "mix": [{"request": m.name, "per_second": m.per_second, "note": m.note} for m in hotkeys.MIX],
        "not_measured": {name: p.missing for name, p in profiles.items() if p.missing},
        "keys": [
            {
                "target": r.target,
                "key": r.key,
                "reads": round(r.reads, 1),
                "writes": round(r.writes, 1),
                "share": round(r.share, 3),
            }
            for r in rows
        ],
        "content_checks_per_minute": hotkeys.content_check_rate(profiles),
        "content_check_quota_per_minute": hotkeys.CONTENT_CHECK_PER_MINUTE,
        "content_check_queued": hotkeys.queued(profiles),
        "content_check_drain_seconds_after_burst": round(hotkeys.drain_seconds()),
    }
    return hotkeys.report(profiles)


def main() -> int:
    report: dict[str, Any] = {}
    ok = cold_start_section(report)  # first: its interpreters must not inherit the stack's environment
    with journey.bench_stack(VAR):
        user = journey.Journey()
        measured = user.run()
        reader = journey.Client()
        journey.approved_hcp(reader, "deep-reader")
        deep = depth.measure(reader)
        spread = depth.measure(
            reader, depth.SPREAD_DEPTH, article=journey.SPREAD_ARTICLE, partitions=depth.SPREAD_PARTITIONS
        )
        profiles = hotkeys.measure()
    ok &= calls_section(report, measured)
    ok &= depth_section(report, deep)
    ok &= depth_section(report, spread, "depth_spread")
    ok &= hot_keys_section(report, profiles)
    launch.section(report, profiles, user.footprint)
    report["ok"] = ok
    out = VAR / "bench.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\n{'every target met' if ok else 'TARGETS MISSED'}; written {out.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
