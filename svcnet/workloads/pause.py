"""The ``pause`` image (and ``agnhost pause``): sleep until SIGTERM or SIGINT, then exit 0.

Usage: ``python -m svcnet.workloads.pause``. Deliberately tiny and free of
asyncio and logging, so a pod of pause containers costs little to start.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

_stop = False


def _on_signal(signum: int, frame: FrameType | None) -> None:
    global _stop
    _stop = True


def main() -> None:
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    print("pause: waiting for SIGTERM", flush=True)
    while not _stop:
        signal.pause()
    print("pause: shutting down", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
