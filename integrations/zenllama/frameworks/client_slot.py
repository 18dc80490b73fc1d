"""The core client a settings object builds: lazily, again when a setting changed, closed by
close/aclose/with; copies and pickles carry neither the client nor the key."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, PrivateAttr
from typing_extensions import Self

from zenllama.core.chat import ChatClient
from zenllama.core.embeddings import EmbeddingsClient
from zenllama.core.settings import Settings

from .redaction import without_secrets

ClientT = TypeVar("ClientT", ChatClient, EmbeddingsClient)
_BUILDING = threading.Lock()  # process-wide: clients are built once per object, rarely


class _ClientSlot(Generic[ClientT]):
    """The core client an object built, with the settings it was built from and its owner.

    Copies and pickles of the object start empty (a live client is neither copied nor pickled);
    a shallow `model_copy` shares the slot, so the owner's id tells whose client it is.
    """

    __slots__ = ("client", "key", "owner", "served")

    def __init__(
        self, client: ClientT | None = None, key: tuple[Any, ...] = (), owner: int = 0
    ) -> None:
        self.client: ClientT | None = client
        self.key = key
        self.owner = owner
        # The model the client's server reported (chat), in a tuple since None is an answer.
        self.served: tuple[str | None] | None = None

    def __copy__(self) -> _ClientSlot[ClientT]:
        return _ClientSlot()

    def __deepcopy__(self, memo: dict[int, Any]) -> _ClientSlot[ClientT]:
        return _ClientSlot()

    def __reduce__(self) -> tuple[type, tuple[()]]:
        return _ClientSlot, ()


class ClientLifecycle(BaseModel):
    """The core client's life on a settings object: built on first use, released by close."""

    _slot: _ClientSlot[Any] = PrivateAttr(default_factory=_ClientSlot)

    def _resolve(self) -> Settings:
        raise NotImplementedError

    def _settings_key(self) -> tuple[Any, ...]:
        raise NotImplementedError

    def _build_client(self, settings: Settings) -> Any:
        raise NotImplementedError

    def _core_client(self) -> Any:
        """This object's core client, built on first use from its current settings.

        Built again when a setting changed (`llm.base_url = …`); a copy (`model_copy`) builds
        its own from its own settings. Construction never connects.
        """
        slot = self._slot
        if slot.owner == id(self) and slot.key == self._settings_key():
            return slot.client
        with _BUILDING:
            slot = self._slot
            if slot.owner != id(self) or slot.key != self._settings_key():
                client = self._build_client(self._resolve())
                # A new slot, never the old one: a shallow copy may share that.
                slot = self._slot = _ClientSlot(client, self._settings_key(), id(self))
        return slot.client

    def _release(self) -> Any:
        """Hands back the client this object built (None if none) and forgets it."""
        with _BUILDING:
            slot = self._slot
            if slot.owner != id(self) or slot.client is None:
                return None
            self._slot = _ClientSlot()
            return slot.client

    def close(self) -> None:
        """Lets go of this object's client. The HTTP clients under it are shared per settings
        and live for the process (never closed here); a later call builds a new client."""
        client = self._release()
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        client = self._release()
        if client is None:
            return
        aclose = getattr(client, "aclose", None)
        if aclose is not None:
            await aclose()
        else:
            client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __getstate__(self) -> dict[Any, Any]:
        """Pickles carry neither a live client (the slot pickles empty) nor the key, nor the
        credentials in base_url (masked): a restored object reads the key from the environment
        again, as a new one would, and the URL's credentials from BACKEND_URL when that is
        the same URL (resolve_settings). Fallbacks pickle the same way (Fallback)."""
        return without_secrets(super().__getstate__())
