"""What ``cityline serve`` runs on: uvloop and httptools, and a listening socket for ``--workers N``
whose connections send small answers at once."""

from __future__ import annotations

import asyncio
import socket

import pytest
import uvicorn
import uvloop

from cityline.server import tcp_listener


def test_the_server_runs_on_libuvs_loop_and_a_c_http_parser():
    # uvicorn picks them when they are installed (they are dependencies): a third less
    # processor a request than asyncio's loop and h11.
    config = uvicorn.Config("cityline.server:worker_app")
    config.load()
    assert config.http_protocol_class.__name__ == "HttpToolsProtocol"
    loop = config.get_loop_factory()()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()


@pytest.mark.parametrize("run", [asyncio.run, uvloop.run], ids=["asyncio", "uvloop"])
def test_connections_accepted_by_the_worker_processes_socket_have_tcp_nodelay(run):
    # The socket as uvicorn binds it for its worker processes, then as cityline hands it to them.
    config = uvicorn.Config("cityline.server:worker_app", host="127.0.0.1", port=0, workers=2)
    listener = tcp_listener(config.bind_socket())
    accepted: list[int] = []

    async def main() -> None:
        def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.append(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(connected, sock=listener)
        async with server:
            _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
            for _ in range(100):
                if accepted:
                    break
                await asyncio.sleep(0.01)
            writer.close()

    run(main())
    assert accepted and accepted[0] != 0, "Nagle's algorithm would hold each answer's body for the caller's ACK"


def test_a_socket_already_marked_tcp_is_left_as_it_is():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as sock:
        assert tcp_listener(sock) is sock
