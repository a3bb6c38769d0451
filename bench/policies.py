"""How long the policy pack takes on large stacks, driven over gRPC exactly as the Pulumi CLI drives it.

    python -m bench.policies [--sizes 500,1000,5000] [--stack prod]     (make bench-policies)

The real stack is evaluated once under the mock runtime; its custom resources are copied (URNs,
names and property dependencies renamed per copy, properties untouched, so every copy has its own
image, task definitions, secrets, ...) until the stack has the wanted number of resources. For
each size a fresh pack is started the way the CLI starts it, then timed over: one ``Analyze`` per
resource (its inputs) and one ``AnalyzeStack`` (every resource's state). Requests are built before
the clock starts, so the figures are the pack's answer time plus gRPC, not this client's encoding.
Printed per size: wall seconds, the pack process's CPU seconds (from /proc), resources per second
and the load average, which matters on a shared machine.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from pathlib import Path

from offline.policy_client import PolicyPackServer, analyze_requests, configure
from offline.runtime import PlannedStack, evaluate_stack

BUDGET_SECONDS = 5.0  # issue 12: 5,000 resources in <= 5 s
BUDGET_RESOURCES = 5000


def scaled(planned: PlannedStack, size: int) -> PlannedStack:
    """``planned`` with its custom resources copied until there are ``size`` of them."""
    custom = [r for r in planned.resources if r.custom]
    resources = []
    copy_index = 0
    while len(resources) < size:
        suffix = f"-c{copy_index}"
        renamed = {r.urn: r.urn + suffix for r in custom}
        for original in custom:
            if len(resources) == size:
                break
            r = copy.copy(original)
            r.urn, r.name = renamed[r.urn], r.name + suffix
            r.dependencies = [renamed.get(d, d) for d in r.dependencies]
            r.property_dependencies = {k: [renamed.get(u, u) for u in v] for k, v in r.property_dependencies.items()}
            resources.append(r)
        copy_index += 1
    return PlannedStack(planned.project, planned.stack, planned.region, planned.config, planned.secret_keys,
                        planned.placeholder_secrets, resources, planned.outputs, planned.preview, planned.notes)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(planned: PlannedStack, size: int) -> dict:
    stack = scaled(planned, size)
    requests, stack_request = analyze_requests(stack)
    server = PolicyPackServer(stack)
    with server as stub:
        pid = server.process.pid
        configure(stub, stack)
        cpu_before, start = cpu_seconds(pid), time.perf_counter()
        diagnostics = sum(len(stub.Analyze(request).diagnostics) for request in requests)
        diagnostics += len(stub.AnalyzeStack(stack_request).diagnostics)
        wall, cpu = time.perf_counter() - start, cpu_seconds(pid) - cpu_before
    return {"resources": size, "seconds": wall, "pack_cpu": cpu, "diagnostics": diagnostics,
            "load": os.getloadavg()[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.policies", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,1000,5000")
    parser.add_argument("--stack", default="prod")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    planned = evaluate_stack(args.stack)
    print(f"policy pack over copies of the {args.stack} stack (gRPC: one Analyze per resource + one AnalyzeStack)")
    print(f"{'resources':>9}  {'seconds':>7}  {'pack CPU s':>10}  {'resources/s':>11}  {'ms/resource':>11}  "
          f"{'diagnostics':>11}  load(1m)")
    results = []
    for size in sizes:
        result = run(planned, size)
        results.append(result)
        print(f"{size:>9}  {result['seconds']:>7.2f}  {result['pack_cpu']:>10.2f}  "
              f"{size / result['seconds']:>11.0f}  {1000 * result['seconds'] / size:>11.3f}  "
              f"{result['diagnostics']:>11}  {result['load']:.2f}", flush=True)
    if len(results) > 1:
        first, last = results[0], results[-1]
        growth = (last["seconds"] / last["resources"]) / (first["seconds"] / first["resources"])
        print(f"time per resource at {last['resources']} vs {first['resources']}: x{growth:.2f} (1.00 = linear)")
    at_budget = [r for r in results if r["resources"] == BUDGET_RESOURCES]
    if at_budget:
        verdict = "within" if at_budget[0]["seconds"] <= BUDGET_SECONDS else "OVER"
        seconds = at_budget[0]["seconds"]
        print(f"{BUDGET_RESOURCES} resources: {seconds:.2f} s, {verdict} the {BUDGET_SECONDS:g} s budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
