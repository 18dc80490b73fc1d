"""SSE lines from raw bytes: a line ends at CRLF, LF or CR, and nowhere else.

httpx's `iter_lines` splits at every `str.splitlines` boundary, U+2028, U+2029 and U+0085
included, which JSON strings may carry raw: an event holding one would arrive in two pieces.
Splitting the bytes on b"\\n" (an ASCII byte never inside a UTF-8 sequence) and decoding each
whole line is both right and cheaper.
"""

from __future__ import annotations

_BOM = "\ufeff"


class LineSplitter:
    """Feeds byte chunks split anywhere; hands out whole lines, without their line end."""

    __slots__ = ("_first", "_pending")

    def __init__(self) -> None:
        self._pending = b""
        self._first = True  # SSE drops one byte-order mark at the very start of a stream

    def feed(self, chunk: bytes) -> list[str]:
        if self._pending:
            chunk = self._pending + chunk
        if b"\r" in chunk:
            # Rare: CR or CRLF line ends. A CR at the end may be half of a CRLF: keep it back.
            held = chunk.endswith(b"\r")
            chunk = chunk.replace(b"\r\n", b"\n")
            if held:
                chunk = chunk[:-1].replace(b"\r", b"\n") + b"\r"
            else:
                chunk = chunk.replace(b"\r", b"\n")
        lines = chunk.split(b"\n")
        self._pending = lines.pop()
        if not lines:
            return []
        # SSE decodes UTF-8 with replacement, never failing on a bad byte.
        decoded = [line.decode("utf-8", "replace") for line in lines]
        if self._first:
            self._first = False
            decoded[0] = decoded[0].removeprefix(_BOM)
        return decoded

    def flush(self) -> list[str]:
        """The last line, when the stream ended without a line end after it."""
        pending, self._pending = self._pending, b""
        if not pending:
            return []
        line = pending.removesuffix(b"\r").decode("utf-8", "replace")
        return [line.removeprefix(_BOM) if self._first else line]
