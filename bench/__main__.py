"""`python -m bench` runs every part; `python -m bench PART …` runs those (see PARTS).

The run happens in a process group of its own (the worker, the loopback server, llama-servers,
the LiteLLM proxy, fresh-object subprocesses): when it ends, fails or is interrupted (Ctrl-C),
the whole group is ended, so no server outlives it. A whole run writes bench/REPORT.md,
bench/report.json and bench/report.png; a run of some parts prints only, unless --out.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Iterable
from pathlib import Path

WORKER = "ZENLLAMA_BENCH_WORKER"
HERE = Path(__file__).resolve().parent


# Part -> its module (each has `main(base_url, repeats)`, its tables), in run order.
PARTS = {
    # Small non-streamed calls on each wire against the peers and the floors.
    "calls": "calls",
    # One long stream per wire through LangChain, and through LlamaIndex.
    "wires": "wires",
    "llama_index": "llama_index_stream",
    "routing": "routing",
    "embeddings": "embeddings",
    "fresh": "fresh",
    # Real llama-servers: drafting against plain, then the LiteLLM proxy's scale-out.
    "speculative": "speculative",
    "gateway": "gateway",
}


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("parts", nargs="*", help=f"any of {', '.join(PARTS)} (default: all)")
    parser.add_argument(
        "-n", "--repeats", type=int, default=7, help="at least N interleaved rounds (min 5)"
    )
    parser.add_argument(
        "--out", type=Path, help="write REPORT.md, report.json, report.png here (whole run: bench/)"
    )
    args = parser.parse_args()
    unknown = [part for part in args.parts if part not in PARTS]
    if unknown:
        parser.error(f"unknown part(s) {unknown}; choose from {list(PARTS)}")
    return args


def supervise() -> int:
    """Runs the worker in a new process group and ends that group whatever happens."""
    _arguments()  # --help and bad arguments answer here
    env = {**os.environ, WORKER: "1"}
    # `kill` and a closed terminal end the group as Ctrl-C does.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    # A session of its own: its own process group, which the terminal's Ctrl-C does not reach
    # (this process gets it and ends the group).
    worker = subprocess.Popen(
        [sys.executable, "-m", "bench", *sys.argv[1:]], env=env, start_new_session=True
    )
    try:
        code = worker.wait()
    except KeyboardInterrupt:
        print("\ninterrupted: ending the bench's processes", file=sys.stderr, flush=True)
        code = 130
    _end_group(worker.pid)
    return code


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _end_group(group: int) -> None:
    """SIGTERM to every process left in the group, SIGKILL to any still there after 10 s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(group, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


def work() -> int:
    from . import report, stamp
    from .loopback import LoopbackServer
    from .tables import NotRun, Table, show

    args = _arguments()
    asked = args.parts or list(PARTS)
    out = args.out or (HERE if not args.parts else None)
    # zenllama gets base_url as an argument; make sure nothing in the environment competes.
    for name in ("BACKEND_URL", "BACKEND_API_KEY", "BACKEND_MODEL"):
        os.environ.pop(name, None)
    run = report.Run(stamp.machine(), stamp.versions(), asked)
    began = time.perf_counter()
    print(", ".join(f"{k} {v}" for k, v in run.machine.items()), flush=True)
    with LoopbackServer() as server:
        print(f"loopback server (subprocess) at {server.base_url}", flush=True)
        for part in asked:
            print(f"\n##### {part}", flush=True)
            try:
                module = importlib.import_module(f"{__package__}.{PARTS[part]}")
                tables: Iterable[Table] = module.main(server.base_url, args.repeats)
                for table in tables:  # printed as each is measured
                    show(table)
                    run.tables.append(table)
                    sys.stdout.flush()
            except NotRun as exc:
                print(f"  NOT RUN: {exc}", flush=True)
                run.not_run[part] = str(exc)
                continue
            except Exception as exc:  # one part failing must not lose the others' figures
                traceback.print_exc()
                run.failed[part] = f"{type(exc).__name__}: {exc}"
                continue
    run.seconds = time.perf_counter() - began
    run.machine["load after (1/5/15 min)"] = stamp.load()
    print(f"\nload after {run.machine['load after (1/5/15 min)']}, {run.seconds / 60:.1f} min")
    if out is not None:
        for path in report.write(run, out):
            print(f"wrote {path}")
    return 1 if run.failed else 0


def main() -> None:
    sys.exit(work() if os.environ.get(WORKER) else supervise())


if __name__ == "__main__":
    main()
