"""llama-server's own calls on the framework objects: slots and router models
(`llm.save_slot(0, "system.bin")`), and the served model's tokenizer as a callable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from zenllama.core.llama_cpp import LlamaCpp


class Tokenizer:
    """text -> token ids of the served model: LlamaIndex's `Settings.tokenizer`,
    `TokenTextSplitter(tokenizer=...)` and `ChatMemoryBuffer(tokenizer_fn=...)` take it."""

    def __init__(self, llama_cpp: Callable[[], LlamaCpp]) -> None:
        # Asked per call: the owner's current client (a changed base_url builds a new one).
        self._llama_cpp = llama_cpp

    def __call__(self, text: str) -> list[int]:
        return self._llama_cpp().tokenize(text)


class HasLlamaCpp(Protocol):
    """A core client (plain or routed): what the framework mixin needs of it."""

    @property
    def llama_cpp(self) -> LlamaCpp: ...


class LlamaCppMethods:
    """Slot and router calls on the framework objects (`llm.save_slot(0, "system.bin")`).

    Mixed into ChatZenLlama and ZenLlama next to their framework base; needs `client`."""

    @property
    def client(self) -> HasLlamaCpp:
        raise NotImplementedError  # the framework class's own (plain or routed)

    def save_slot(self, slot: int, filename: str) -> dict[str, Any]:
        """Saves slot `slot`'s KV cache to `filename` in the server's --slot-save-path."""
        return self.client.llama_cpp.save_slot(slot, filename)

    def restore_slot(self, slot: int, filename: str) -> dict[str, Any]:
        """Loads a saved KV cache into `slot`; send requests with `id_slot=slot` to reuse it."""
        return self.client.llama_cpp.restore_slot(slot, filename)

    def erase_slot(self, slot: int) -> dict[str, Any]:
        return self.client.llama_cpp.erase_slot(slot)

    async def asave_slot(self, slot: int, filename: str) -> dict[str, Any]:
        return await self.client.llama_cpp.asave_slot(slot, filename)

    async def arestore_slot(self, slot: int, filename: str) -> dict[str, Any]:
        return await self.client.llama_cpp.arestore_slot(slot, filename)

    async def aerase_slot(self, slot: int) -> dict[str, Any]:
        return await self.client.llama_cpp.aerase_slot(slot)

    def load_model(self, model: str) -> dict[str, Any]:
        """Router mode: load `model` now (requests naming it also load it on demand)."""
        return self.client.llama_cpp.load_model(model)

    def unload_model(self, model: str) -> dict[str, Any]:
        return self.client.llama_cpp.unload_model(model)

    async def aload_model(self, model: str) -> dict[str, Any]:
        return await self.client.llama_cpp.aload_model(model)

    async def aunload_model(self, model: str) -> dict[str, Any]:
        return await self.client.llama_cpp.aunload_model(model)
