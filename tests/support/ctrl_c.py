"""Children that Ctrl-C (SIGINT) stops as it does in a terminal.

A command started in the background (`make test &`, nohup, some CI runners) ignores SIGINT, and
its children inherit that: Python then installs no KeyboardInterrupt handler, and a test that
stops `zenllama serve` with SIGINT waits for nothing. Pass as `Popen(preexec_fn=...)`.
"""

from __future__ import annotations

import signal


def interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
