"""`zenllama serve | demo | models`: the embedded default from a shell."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

from zenllama.core import ChatClient, ZenLlamaError, resolve_settings
from zenllama.local import TEMPLATE_FILES, LlamaServer


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def serve(args: argparse.Namespace) -> int:
    server = LlamaServer(
        model=Path(args.model) if args.model else None,
        template=None if args.template == "none" else args.template,
        port=args.port,
        ctx_size=args.ctx_size,
        parallel=args.parallel,
        embeddings=args.embeddings,
        progress=_progress,
    )
    # `kill` stops the child too, also while building or loading (start() cleans up).
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with server:
            print(
                f"llama-server is ready. Use it with:\n\n  export BACKEND_URL={server.base_url}\n"
            )
            print("Ctrl-C stops it.", flush=True)
            code = server.wait()
    except KeyboardInterrupt:
        return 0
    print(f"llama-server exited with {code}", file=sys.stderr)
    return 1


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def models(args: argparse.Namespace) -> int:
    client = ChatClient(resolve_settings(base_url=args.base_url, backend=args.backend))
    for model in client.list_models():
        # The wire, where it is not chat completions (zen: claude-* messages, gpt-* responses).
        print(model.id if model.api == "chat" else f"{model.id}  ({model.api})")
    return 0


def demo(args: argparse.Namespace) -> int:
    from zenllama.demo import run_demo  # needs the langchain extra

    return run_demo()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="zenllama", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("serve", help="start llama-server with the bundled small model")
    p.add_argument("--model", help="path of a GGUF (default: the bundled Gemma 3 270M)")
    p.add_argument(
        "--template",
        default="tools",
        help=f"chat template: {', '.join(TEMPLATE_FILES)}, a .jinja path, or none "
        "(the model's own)",
    )
    p.add_argument("--port", type=int, default=int(os.environ.get("ZENLLAMA_PORT", "8080")))
    p.add_argument("--ctx-size", type=int, default=4096)
    p.add_argument("--parallel", type=int, default=2)
    p.add_argument("--embeddings", action="store_true", help="serve /v1/embeddings (mean pooling)")
    p.set_defaults(run=serve)

    p = commands.add_parser("demo", help="LangChain chat: stream, reasoning, a tool call, usage")
    p.set_defaults(run=demo)

    p = commands.add_parser("models", help="list the models a backend serves")
    p.add_argument("--base-url", default=None, help="default: BACKEND_URL")
    p.add_argument("--backend", default="auto")
    p.set_defaults(run=models)

    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except (
        ZenLlamaError,
        FileNotFoundError,
        ImportError,  # the bundled model's package is not installed
        RuntimeError,  # the build or llama-server failed; the message has its output
        TimeoutError,
        ValueError,  # e.g. an unknown --backend
        subprocess.CalledProcessError,  # fetching the llama.cpp source failed
    ) as exc:
        print(f"zenllama: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
