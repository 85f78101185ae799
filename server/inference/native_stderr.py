"""Native libraries' start-up chatter, kept off the user's terminal.

MediaPipe's C++ graph and TFLite write to file descriptor 2 directly when a landmarker is
built ("Created TensorFlow Lite XNNPACK delegate", glog ``W0000 …`` lines); neither
``GLOG_minloglevel`` nor Python's logging reaches them. While a native object is created,
fd 2 is pointed at an anonymous temporary file; afterwards each captured line goes to the
``avatar_driver.native`` logger (glog errors as warnings, the rest as debug) and anything
that is not native log format (another thread's message) is written back to the real stderr.
``AVATAR_DRIVER_NATIVE_LOGS=1`` leaves stderr alone.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger("avatar_driver.native")

# glog ("W0000 00:00:… file.cc:12] …"), TFLite ("INFO: …") and absl's pre-init notice.
_NATIVE_LINE = re.compile(r"^(?:[IWEF]\d{4} |INFO: |WARNING: (?:Logging before|All log messages before))")
_lock = threading.Lock()  # fd 2 is process-wide: one redirection at a time


def native_logs_shown() -> bool:
    return os.environ.get("AVATAR_DRIVER_NATIVE_LOGS", "").lower() in ("1", "true", "yes")


@contextmanager
def native_stderr_to_log() -> Iterator[None]:
    """Route what native code writes to fd 2 inside the block to the ``avatar_driver.native`` logger."""
    if native_logs_shown():
        yield
        return
    with _lock, tempfile.TemporaryFile() as sink:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            _forward(sink.read().decode("utf-8", "replace"))


def _forward(text: str) -> None:
    for line in text.splitlines():
        if not line.strip():
            continue
        if _NATIVE_LINE.match(line):
            log.log(logging.WARNING if line[0] in "EF" and line[1].isdigit() else logging.DEBUG, "%s", line)
        else:
            print(line, file=sys.stderr)
