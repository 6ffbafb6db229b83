"""``wecrm serve``: the bot's web server — one process, or a supervisor of several on
PostgreSQL — and the checks that make a taken port one clear line."""

from __future__ import annotations

import argparse
import asyncio
import errno
import os
import socket
import sys

from bot.config import Config


def use_uvloop() -> None:
    """Serve on uvloop where it is installed (not on Windows): the profile of the hot
    path spends a third of its time in asyncio's socket writes, which libuv does in C."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def cmd_serve(cfg: Config, args: argparse.Namespace) -> int:
    from aiohttp import web

    from bot.app import create_app
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

        return supervise(args.argv, workers, on_postgres, cfg.server.shutdown_timeout)
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

    try:
        web.run_app(
            app,
            host=host,
            port=port,
            shutdown_timeout=cfg.server.shutdown_timeout,
            # aiohttp closes a connection still waiting for its request headers when
            # this keep-alive timer fires, counted from the connection's start.
            keepalive_timeout=cfg.server.header_timeout,
            print=listening,
            access_log=None,
            reuse_port=args.reuse_port or None,
        )
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        print(port_taken_message(port), file=sys.stderr, flush=True)
        return 1
    return 0


def port_in_use(host: str, port: int) -> bool:
    """Whether binding ``host:port`` fails with EADDRINUSE, tried the way asyncio's
    server binds (SO_REUSEADDR, IPv6 sockets v6-only); any other outcome is left to
    the real bind to report."""
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except OSError:
        return False
    for family, kind, proto, _, address in infos:
        try:
            probe = socket.socket(family, kind, proto)
        except OSError:
            continue
        with probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return True
    return False


def port_taken_message(port: int) -> str:
    """One line, Chinese then English, for ``make run`` on a machine where the port is in use."""
    other = port + 10 if port + 10 <= 65535 else 8090
    return (
        f"wecrm: 端口 {port} 已被占用：用 PORT={other} make run（或 wecrm serve --port {other}）"
        f"或在配置 [server] port 里换一个端口。 / Port {port} is already in use: "
        f"run PORT={other} make run, or set [server] port in the config."
    )
