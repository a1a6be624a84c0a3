"""Running the ASGI app under uvicorn, one process or several sharing one listening socket.

uvicorn binds the socket its workers share itself, without naming IPPROTO_TCP, and asyncio turns Nagle's algorithm
off only on connections of sockets that name it. An answer written in two parts (headers, then body) then waits for
the client's delayed ACK: 40 ms per request with `--workers 2`, even for an endpoint that does nothing
(bench/submit.py --workers 2 showed it on every floor). On Linux a connection inherits TCP_NODELAY from the listening
socket, so the shared socket gets it.
"""

from __future__ import annotations

import socket
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess


class _Config(uvicorn.Config):
    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock


def run(app: str, *, host: str, port: int, workers: int = 1, **options: Any) -> None:
    """Serve `app` (an import string, "module:attribute") with `workers` processes; options go to uvicorn.Config."""
    config = _Config(app, host=host, port=port, workers=workers, **options)
    if workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    config.load_app()
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        raise SystemExit(3)  # uvicorn's STARTUP_FAILURE


if __name__ == "__main__":  # python -m um_service.serving module:app PORT [WORKERS]: how the benches serve references
    import sys

    run(sys.argv[1], host="127.0.0.1", port=int(sys.argv[2]), workers=int(sys.argv[3]), log_level="warning")
