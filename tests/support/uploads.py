"""Raw HTTP uploads over a socket: the headers first, the body only when the caller says, so
that a test can tell a request refused before its body was read from one refused after."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass

import numpy as np

from .gltf import BLOB, base_gltf, glb


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class Upload:
    """One POST on its own connection: `start` sends the headers (Content-Length: ``size``)."""

    def __init__(self, port: int, path: str, size: int, timeout_s: float = 30.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
        self.path, self.size = path, size

    def start(self) -> None:
        head = f"POST {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {self.size}\r\n\r\n"
        self.sock.sendall(head.encode())

    def send(self, body: bytes | memoryview, piece: int = 1 << 20) -> None:
        view = memoryview(body)
        for at in range(0, len(view), piece):
            self.sock.sendall(view[at : at + piece])

    def answered(self, wait_s: float) -> bool:
        """Whether an answer is there to read within ``wait_s`` (nothing of it is consumed)."""
        timeout = self.sock.gettimeout()
        self.sock.settimeout(wait_s)
        try:
            return bool(self.sock.recv(1, socket.MSG_PEEK))
        except TimeoutError:
            return False
        finally:
            self.sock.settimeout(timeout)

    def answer(self) -> Answer:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(body) < length and (chunk := self.sock.recv(65536)):
            body += chunk
        return Answer(status, headers, body)

    def close(self) -> None:
        self.sock.close()


def big_glb(size: int) -> bytes:
    """A valid avatar (tests/support/gltf.py's triangle) whose buffer is padded to about ``size`` bytes."""
    pad = max(0, size - 2048)
    doc = base_gltf()
    doc["buffers"][0]["byteLength"] = len(BLOB) + pad
    return glb(doc, BLOB + np.zeros(pad, np.uint8).tobytes())


def rss_mib(pid: int | str = "self") -> float:
    """A process's resident memory now, in MiB (/proc)."""
    with open(f"/proc/{pid}/status") as f:
        match = re.search(r"VmRSS:\s+(\d+)", f.read())
    assert match is not None
    return int(match.group(1)) / 1024.0
