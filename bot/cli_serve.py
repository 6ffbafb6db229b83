"""``wecrm serve``: the bot's web server — one process, or a supervisor of several on
PostgreSQL — and the checks that make a taken port one clear line."""

from __future__ import annotations

import argparse
import asyncio
import errno
import os
import socket
import sys
from typing import Any

from bot.config import Config

# Connections waiting to be accepted, per worker (aiohttp's own default).
BACKLOG = 128


def use_uvloop() -> None:
    """Serve on uvloop where it is installed (not on Windows): the profile of the hot
    path spends a third of its time in asyncio's socket writes, which libuv does in C."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def cmd_serve(cfg: Config, args: argparse.Namespace) -> int:
    from bot.logs import register_secret, setup_logging

    setup_logging(cfg.log.level, cfg.log.format)
    for secret in (
        cfg.wechat.token,
        cfg.wechat.app_secret,
        cfg.wechat.encoding_aes_key,
        cfg.wecom.secret,
        cfg.security.data_key,
    ):
        register_secret(secret)
    host = args.host or cfg.server.host
    port = args.port or cfg.server.port
    on_postgres = not cfg.database.url.startswith("sqlite")
    workers = args.workers or cfg.server.workers or (os.cpu_count() or 1 if on_postgres else 1)
    # Checked before anything starts (database, scheduler, delivery), so a taken
    # port costs one line and no start-up noise; the bind below still decides. A
    # supervised worker shares the port with its siblings: the supervisor checked.
    if not args.supervised and port_in_use(host, port):
        print(port_taken_message(port), file=sys.stderr, flush=True)
        return 1
    if workers > 1 and not args.supervised:
        from bot.supervisor import supervise

        try:
            sockets = listen_sockets(host, port, BACKLOG * workers)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            print(port_taken_message(port), file=sys.stderr, flush=True)
            return 1
        return supervise(args.argv, workers, on_postgres, cfg.server.shutdown_timeout, sockets)
    # Imported here, not above: the supervisor of several workers only needs the
    # sockets, and the whole app weighed 76 MB in it against 39 without.
    from aiohttp import web

    from bot.app import create_app

    use_uvloop()
    app = create_app(cfg, run_scheduler=not args.no_scheduler)
    from bot.heap import freeze_loaded_modules

    app.cleanup_ctx.append(freeze_loaded_modules)
    if args.supervised:
        from bot.supervisor import watch_parent

        app.cleanup_ctx.append(watch_parent)
    shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host

    def listening(_: str) -> None:
        # aiohttp calls this once every socket is bound, so it is never said of a
        # port someone else holds.
        print(f"wecrm listening on http://{shown}:{port}  (WeChat callback: /wechat)", flush=True)
        if cfg.simulator.enabled:
            print(f"simulator: open http://{shown}:{port}/simulator", flush=True)

    # A supervised worker serves on the sockets its supervisor opened.
    inherited = (
        [socket.socket(fileno=int(fd)) for fd in args.listen_fds.split(",")]
        if args.listen_fds
        else None
    )
    try:
        web.run_app(
            app,
            host=None if inherited else host,
            port=None if inherited else port,
            sock=inherited,
            shutdown_timeout=cfg.server.shutdown_timeout,
            # aiohttp closes a connection still waiting for its request headers when
            # this keep-alive timer fires, counted from the connection's start.
            keepalive_timeout=cfg.server.header_timeout,
            print=listening,
            access_log=None,
        )
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        print(port_taken_message(port), file=sys.stderr, flush=True)
        return 1
    return 0


def _addresses(host: str, port: int) -> list[tuple[int, int, int, Any]]:
    """What asyncio's server binds for ``host``: every address it resolves to."""
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except OSError:
        return []
    seen, out = set(), []
    for family, kind, proto, _, address in infos:
        if (family, address) not in seen:
            seen.add((family, address))
            out.append((family, kind, proto, address))
    return out


def _server_socket(family: int, kind: int, proto: int) -> socket.socket:
    # As asyncio's server sets them up: SO_REUSEADDR, IPv6 sockets v6-only.
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    return sock


def port_in_use(host: str, port: int) -> bool:
    """Whether binding ``host:port`` fails with EADDRINUSE, tried the way asyncio's
    server binds; any other outcome is left to the real bind to report."""
    for family, kind, proto, address in _addresses(host, port):
        try:
            probe = _server_socket(family, kind, proto)
        except OSError:
            continue
        with probe:
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return True
    return False


def listen_sockets(host: str, port: int, backlog: int) -> list[socket.socket]:
    """Listening sockets on ``host:port`` for worker processes to inherit: one accept
    queue that every worker takes connections from, so a worker that dies loses only
    the requests it was answering (with SO_REUSEPORT each worker had a queue of its
    own, and the connections waiting in a dead worker's were reset). Raises OSError
    (EADDRINUSE) when the port is taken."""
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, address in _addresses(host, port):
            sock = _server_socket(family, kind, proto)
            sockets.append(sock)
            sock.bind(address)
            sock.listen(backlog)
            sock.set_inheritable(True)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    if not sockets:
        raise OSError(errno.EADDRNOTAVAIL, f"{host}:{port} resolves to no address")
    return sockets


def port_taken_message(port: int) -> str:
    """One line, Chinese then English, for ``make run`` on a machine where the port is in use."""
    other = port + 10 if port + 10 <= 65535 else 8090
    return (
        f"wecrm: 端口 {port} 已被占用：用 PORT={other} make run（或 wecrm serve --port {other}）"
        f"或在配置 [server] port 里换一个端口。 / Port {port} is already in use: "
        f"run PORT={other} make run, or set [server] port in the config."
    )
