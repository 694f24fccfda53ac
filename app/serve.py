"""`encounter-service serve`: uvicorn, with several worker processes that each listen on their own
SO_REUSEPORT socket.

uvicorn's own `--workers` shares one listening socket, and whichever worker wakes first accepts every
connection waiting at that moment: clients that keep their connections open (every HTTP client library
does) then all land on one worker while the others idle. Measured: 16 keep-alive clients, 2 workers,
all requests on one worker. With a socket per worker the kernel spreads connections across them.
A worker that dies is started again; SIGTERM or SIGINT stops them all gracefully."""

import multiprocessing
import signal
import socket
import time

import uvicorn

APP = "app.asgi:app"
_BACKLOG = 2048


def serve(host: str, port: int, workers: int, log_config: dict) -> None:
    if workers <= 1:
        uvicorn.run(APP, host=host, port=port, access_log=False, log_config=log_config)
        return
    _check_port_free(host, port)
    context = multiprocessing.get_context("spawn")
    running = {n: _start(context, host, port, log_config) for n in range(workers)}
    stopping = False

    def stop(signum, _frame):  # noqa: ANN001
        nonlocal stopping
        stopping = True
        for process in running.values():
            if process.is_alive():
                process.terminate()  # uvicorn finishes in-flight requests on SIGTERM

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping:
        time.sleep(0.5)
        for n, process in list(running.items()):
            if not process.is_alive() and not stopping:
                running[n] = _start(context, host, port, log_config)
    for process in running.values():
        process.join(30)
        if process.is_alive():
            process.kill()


def _start(context, host: str, port: int, log_config: dict):  # noqa: ANN001, ANN202
    process = context.Process(target=_worker, args=(host, port, log_config), daemon=False)
    process.start()
    return process


def _worker(host: str, port: int, log_config: dict) -> None:
    # Load the app before listening: the kernel hands new connections to every listening socket, so one
    # opened while the app still loads would keep its clients waiting for seconds (a restarted worker).
    import app.asgi  # noqa: F401

    config = uvicorn.Config(APP, host=host, port=port, access_log=False, log_config=log_config, backlog=_BACKLOG)
    uvicorn.Server(config).run(sockets=[_reuseport_socket(host, port)])


def _reuseport_socket(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.listen(_BACKLOG)
    sock.set_inheritable(True)
    return sock


def _check_port_free(host: str, port: int) -> None:
    """SO_REUSEPORT would let the workers share a port another program (or a second copy) already holds:
    refuse to start instead, as a single uvicorn would."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(address)  # raises OSError "Address already in use"
