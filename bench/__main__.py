"""`python -m bench` runs every part; `python -m bench PART …` runs those (see PARTS)."""

from __future__ import annotations

import argparse
import os
import platform
import sys

from . import chat_langchain, chat_llama_index, chat_wires, embeddings, fresh, gateway, speculative
from .loopback import LoopbackServer

PARTS = {
    "chat": chat_langchain.main,
    "llama_index": chat_llama_index.main,
    "wires": chat_wires.main,
    "embeddings": embeddings.main,
    "fresh": fresh.main,
    "speculative": speculative.main,
    # Real llama-servers and a LiteLLM proxy (the gateway extra): the scale-out gain.
    "gateway": gateway.main,
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("parts", nargs="*", help=f"any of {', '.join(PARTS)} (default: all)")
    parser.add_argument(
        "-n", "--repeats", type=int, default=7, help="at least N timed rounds (default 7)"
    )
    args = parser.parse_args()
    unknown = [part for part in args.parts if part not in PARTS]
    if unknown:
        parser.error(f"unknown part(s) {unknown}; choose from {list(PARTS)}")
    # zenllama gets base_url as an argument; make sure nothing in the environment competes.
    for name in ("BACKEND_URL", "BACKEND_API_KEY", "BACKEND_MODEL"):
        os.environ.pop(name, None)
    cpus = os.cpu_count() or 1
    load = os.getloadavg()[0]
    print(
        f"python {platform.python_version()} on {platform.machine()}, {cpus} CPUs, load {load:.1f}"
    )
    if load > cpus / 2:
        print("  the machine is busy: absolute numbers are inflated; the ratios hold up better")
    with LoopbackServer() as server:
        print(f"loopback server (subprocess) at {server.base_url}")
        for part in args.parts or PARTS:
            PARTS[part](server.base_url, args.repeats)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
