"""The socket several workers share turns Nagle's algorithm off for every connection it accepts (um_service/serving.py).

Without it each answer written in two parts waited for the client's delayed ACK: 40 ms per request at --workers 2.
"""

from __future__ import annotations

import socket

from um_service.serving import _Config


def test_connections_accepted_on_the_shared_socket_have_tcp_nodelay() -> None:
    config = _Config("um_service.app:create_app", factory=True, host="127.0.0.1", port=0, workers=2)
    listening = config.bind_socket()
    listening.listen()
    try:
        with socket.create_connection(listening.getsockname()[:2], timeout=5):
            accepted, _ = listening.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        listening.close()
