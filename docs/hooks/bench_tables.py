"""Benchmark tables, rendered from the newest `bench/results/<date>-<sha>.json` of each kind of run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
FULL_RUN_MESSAGES = 10_000  # `make bench`; `make bench-quick` publishes fewer


def latest(full: bool) -> tuple[Path, dict[str, Any]]:
    """The newest result of `make bench` (full) or `make bench-quick`, by the date it records."""
    runs = []
    for path in RESULTS.glob("20*.json"):
        result = json.loads(path.read_text())
        if "targets" in result and (result["throughput"]["messages"] >= FULL_RUN_MESSAGES) == full:
            runs.append((result["date"], path, result))
    if not runs:
        raise ValueError(f"no {'full' if full else 'quick'} benchmark result in {RESULTS}")
    _, path, result = max(runs, key=lambda run: run[0])
    return path, result


def render(full: bool) -> str:
    path, r = latest(full)
    command = "make bench" if full else "make bench-quick"
    machine = r["machine"]
    lines = [
        f"`{command}` on {r['date'][:10]} at commit `{r['git_sha']}`, {r['throughput']['messages']:,} messages, "
        f"Python {machine['python']} on {machine['cpus']} CPUs (`{path.relative_to(ROOT)}`).",
        "",
        *_load(r),
        "",
        "AWS requests per delivered message (1 KB, first try):",
        "",
        *_calls(r),
        "",
        "Dollars per million delivered messages:",
        "",
        *_cost(r),
        "",
        *_cold_start(r),
        "",
        "Targets:",
        "",
        "| target | bound | measured | |",
        "|---|---|---|---|",
        *(
            f"| {t['target']} | {t['bound']:g} | {t['value']:.4g} | {'met' if t['met'] else 'not met'} |"
            for t in r["targets"]
        ),
    ]
    return "\n".join(lines)


def _ms(values: dict[str, float]) -> str:
    return ", ".join(f"p{p} {v:.1f} ms" for p, v in values.items())


def _load(r: dict[str, Any]) -> list[str]:
    t, light, ceiling, batch = r["throughput"], r["light_load"], r["backing_store_ceiling"], r["batch_concurrency"]
    rate = f"at {light['rate_per_s']:.1f}/s"
    return [
        "| figure | value |",
        "|---|---|",
        f"| throughput | {t['throughput_per_s']:.1f} messages/s delivered ({t['concurrency']} clients, "
        f"{t['body_bytes']} B bodies) |",
        f"| backing-store ceiling | {ceiling['in_process_per_s']:.1f} messages/s in-process, "
        f"{ceiling['server_per_s']:.1f} through a moto server; ratio {ceiling['ratio']:.2f} |",
        f"| the ceiling's loop with Postbox's own calls | {ceiling['postbox_calls_per_s']:.1f} messages/s; "
        f"ratio {ceiling['ratio_to_postbox_calls']:.2f} |",
        f"| publish latency, saturated | {_ms(t['publish_latency_ms'])} |",
        f"| delivery lag, saturated | {_ms(t['delivery_lag_ms'])} |",
        f"| publish latency, {rate} | {_ms(light['publish_latency_ms'])} |",
        f"| delivery lag, {rate} | {_ms(light['delivery_lag_ms'])} |",
        f"| one worker batch of {batch['records']} to a {batch['destination_sleep_ms']:.0f} ms destination | "
        f"{batch['batch_ms']:.0f} ms (one after another: {batch['sequential_ms']:.0f} ms; to a destination "
        f"answering at once: {batch['no_wait_batch_ms']:.0f} ms) |",
    ]


def _calls(r: dict[str, Any]) -> list[str]:
    first_try = r["cost"]["1KB"]["load"]
    hot = r["hottest_partition_key"]
    lines = ["| path and call | per message |", "|---|---|"]
    calls = first_try["aws_calls_per_message"].items()
    lines += [f"| {name} | {count:.2f} |" for name, count in calls if round(count, 2)]
    lines += [
        f"| DynamoDB write units | {sum(first_try['dynamodb_wru_per_message'].values()):.2f} |",
        f"| DynamoDB read units | {sum(first_try['dynamodb_rru_per_message'].values()):.2f} |",
        f"| hottest partition key's share of the write units ({hot['messages']:,} messages) | {hot['share']:.1%} |",
    ]
    return lines


def _cost(r: dict[str, Any]) -> list[str]:
    parts = ("dynamodb", "s3", "sqs", "lambda_api", "lambda_worker", "api_gateway")
    lines = [
        "| body | HTTP API | function URL | " + " | ".join(parts) + " |",
        "|---|---|---|" + "---|" * len(parts),
    ]
    for name, cost in r["cost"].items():
        usd = cost["usd_per_million"]
        shares = " | ".join(f"{usd.get(part, 0.0):.2f}" for part in parts)
        lines.append(f"| {name} | ${usd['total']:.2f} | ${usd['total_function_url']:.2f} | {shares} |")
    floor = r["cost_floor_1kb"]
    lines += [
        "",
        f"QStash pay-as-you-go: ${r['cost']['1KB']['usd_per_million']['qstash_payg']:.2f}. The floor of the fixed "
        f"shape (the message written once and its delivery once, 1 KB): ${floor['total']:.2f}, "
        f"${floor['total_function_url']:.2f} with a function URL.",
    ]
    return lines


def _cold_start(r: dict[str, Any]) -> list[str]:
    cold = r["cold_start"]
    lines = [
        "| import (median, fresh interpreter) | ms | × `import boto3` |",
        "|---|---|---|",
        f"| `boto3` | {cold['boto3_s'] * 1000:.0f} | 1.0 |",
        f"| the required stack, no Postbox module | {cold['required_stack_s'] * 1000:.0f} | "
        f"{cold['required_stack_ratio']:.1f} |",
    ]
    for module, figures in cold.items():
        if isinstance(figures, dict):
            lines.append(f"| `{module}` | {figures['seconds'] * 1000:.0f} | {figures['ratio_to_boto3']:.1f} |")
    lines += ["", f"Peak RSS of an API handler process after 1,000 events: {r['peak_rss_mb_1000_events']:.0f} MB."]
    return lines


def render_soak() -> str:
    """The newest `make soak` result (`bench/results/soak-<date>-<sha>.json`; the file name carries date and sha)."""
    path = max(RESULTS.glob("soak-*.json"), key=lambda p: p.name.split("-", 1)[1])
    s = json.loads(path.read_text())
    report, faults = s["report"], s["injected_faults"]
    rows = [
        ("published", f"{report['published']:,}"),
        ("lost", f"{len(report['lost'])}"),
        ("delivered", f"{report['delivered']:,}"),
        ("dead-lettered", f"{report['dead_lettered']:,}"),
        ("cancelled", f"{report['cancelled']:,}"),
        ("duplicate deliveries", f"{report['duplicate_deliveries']:,} ({report['duplicate_rate']:.1%} of delivered)"),
        ("worker processes killed", f"{s['worker_kills']:,}"),
        ("faults injected", ", ".join(f"{service} {count:,}" for service, count in faults.items())),
        ("poison record in the redrive queue", "yes" if s["poison_in_redrive"] else "no"),
        ("duration", f"{s['seconds'] / 60:.0f} min"),
    ]
    _, date_and_sha = path.stem.split("-", 1)
    date, sha = date_and_sha.rsplit("-", 1)
    head = f"`make soak` on {date} at commit `{sha}` (`{path.relative_to(ROOT)}`):"
    return "\n".join([head, "", "| figure | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)])
