"""Proxies (HTTP and SOCKS, explicit or from the environment) and HTTP/2, on loopback."""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme

from openassistant_sdk import (
    APIConnectionError,
    APITimeoutError,
    AsyncClient,
    Client,
    RetryPolicy,
)
from openassistant_sdk.testing import LocalServer
from openassistant_server import Fault

pytestmark = pytest.mark.integration

ASK = [{"role": "user", "content": "through the wire"}]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Proxy:
    """pproxy in a subprocess, speaking HTTP and SOCKS5 on one loopback port."""

    def __init__(self, log: Path) -> None:
        self.port = _free_port()
        self.log = log
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Proxy:
        self._file = self.log.open("wb")
        listen = f"http+socks5://127.0.0.1:{self.port}"
        self._process = subprocess.Popen(
            [sys.executable, "-m", "pproxy", "-l", listen, "-v"],
            stdout=self._file,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the proxy did not start")

    def __exit__(self, *exc: object) -> None:
        assert self._process is not None
        self._process.terminate()
        self._process.wait(timeout=10)
        self._file.close()

    def relayed(self, kind: str, target_port: int) -> int:
        """How many connections of ``kind`` (http or socks5) it relayed to ``target_port``."""
        pattern = rf"^{kind} 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:{target_port}$"
        return len(re.findall(pattern, self.log.read_text(errors="replace"), re.MULTILINE))


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(token_delay=0.001, rate_limit=None) as running:
        yield running


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[Proxy]:
    with Proxy(tmp_path / "proxy.log") as running:
        yield running


def _wait_for_log(proxy: Proxy, kind: str, port: int) -> int:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not proxy.relayed(kind, port):
        time.sleep(0.05)
    return proxy.relayed(kind, port)


@pytest.mark.parametrize("scheme", ["http", "socks5"])
def test_an_explicit_proxy_carries_the_whole_flow(
    server: LocalServer, proxy: Proxy, scheme: str
) -> None:
    url = f"{scheme}://127.0.0.1:{proxy.port}"
    with Client(
        base_url=server.url, debug_user=f"proxy-{scheme}", model="echo", proxy=url, env={}
    ) as client:
        assert client.complete(ASK) == "through the wire"
    assert _wait_for_log(proxy, scheme, server.port) >= 1


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_async_client_takes_a_proxy_too(
    server: LocalServer, proxy: Proxy, anyio_backend: str
) -> None:
    url = f"socks5://127.0.0.1:{proxy.port}"
    async with AsyncClient(
        base_url=server.url, debug_user="proxy-async", model="echo", proxy=url, env={}
    ) as client:
        assert await client.complete(ASK) == "through the wire"
    assert _wait_for_log(proxy, "socks5", server.port) >= 1


def test_environment_proxies_are_honoured_unless_turned_off(
    server: LocalServer, proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with Client(base_url=server.url, debug_user="proxy-env", model="echo", env={}) as client:
        assert client.complete(ASK) == "through the wire"
    relayed = _wait_for_log(proxy, "http", server.port)
    assert relayed >= 1
    with Client(
        base_url=server.url, debug_user="proxy-off", model="echo", env={}, trust_env=False
    ) as client:
        assert client.complete(ASK) == "through the wire"
    time.sleep(0.2)
    assert proxy.relayed("http", server.port) == relayed  # trust_env=False: no proxy


# -- HTTP/2 ---------------------------------------------------------------------------------------


class TLSServer:
    """The local server's app under hypercorn, over TLS with HTTP/2 offered by ALPN."""

    def __init__(self, certs: Path, ca: trustme.CA) -> None:
        from hypercorn.config import Config

        from openassistant_server import ServerConfig, create_app

        self.port = _free_port()
        cert = ca.issue_cert("127.0.0.1")
        cert.private_key_and_cert_chain_pem.write_to_path(str(certs / "server.pem"))
        self.config = Config()
        self.config.bind = [f"127.0.0.1:{self.port}"]
        self.config.certfile = self.config.keyfile = str(certs / "server.pem")
        self.config.alpn_protocols = ["h2", "http/1.1"]
        self.config.loglevel = "WARNING"
        self.app = create_app(ServerConfig(token_delay=0.001, rate_limit=None))
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from hypercorn.asyncio import serve

        async def main() -> None:
            self._stop = asyncio.Event()
            self._loop = asyncio.get_running_loop()
            await serve(self.app, self.config, shutdown_trigger=self._stop.wait)  # type: ignore[arg-type]

        asyncio.run(main())

    def __enter__(self) -> TLSServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the TLS server did not start")

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)


def test_http2_is_spoken_where_the_server_offers_it(tmp_path: Path) -> None:
    ca = trustme.CA()
    context = ssl.create_default_context()
    ca.configure_trust(context)
    versions: list[str] = []

    def record(response: httpx.Response) -> None:
        versions.append(response.http_version)

    with TLSServer(tmp_path, ca) as tls, Client(
        base_url=f"https://127.0.0.1:{tls.port}", debug_user="h2", model="echo", env={},
        http2=True, verify=context, event_hooks={"response": [record]},
    ) as client:  # fmt: skip
        assert client.complete(ASK) == "through the wire"
        with client.chat() as chat:
            assert chat.send("two streams, one connection").content == "two streams, one connection"
    assert versions
    assert set(versions) == {"HTTP/2"}


def test_tls_verification_is_on_by_default(tmp_path: Path) -> None:
    ca = trustme.CA()  # a CA the client does not trust
    from openassistant_sdk import APIConnectionError

    with (
        TLSServer(tmp_path, ca) as tls,
        Client(base_url=f"https://127.0.0.1:{tls.port}", debug_user="tls", env={}) as client,
        pytest.raises(
            APIConnectionError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"
        ),
    ):
        client.models()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_errors_over_aiohttp_keep_their_kind(anyio_backend: str) -> None:
    # httpx-aiohttp maps every aiohttp connection error to httpx.ConnectTimeout; the SDK
    # classifies by aiohttp's own exception, so a refused connection is a connection error
    # that was never sent, and a reset before any answer is a disconnect, as over httpx.
    httpx_aiohttp = pytest.importorskip("httpx_aiohttp")
    no_retry = RetryPolicy(max_retries=0)
    async with httpx_aiohttp.HttpxAiohttpClient() as http:
        url = f"http://127.0.0.1:{_free_port()}"
        refused = AsyncClient(
            base_url=url, debug_user="u", env={}, http_client=http, retry=no_retry
        )
        with pytest.raises(APIConnectionError) as info:
            await refused.create_chat()
        assert not isinstance(info.value, APITimeoutError)
        assert info.value.failure == "connect"
        assert "ClientConnectorError" in str(info.value)

        with LocalServer(rate_limit=None) as server:
            client = AsyncClient(
                base_url=server.url, debug_user="u", env={}, http_client=http, retry=no_retry
            )
            await client.models()  # logged in: the next request is the chat
            server.add_fault(Fault(action="reset", op="create_chat", times=1))
            with pytest.raises(APIConnectionError) as info:
                await client.create_chat()
            assert not isinstance(info.value, APITimeoutError)
            assert info.value.failure == "disconnect"
            await client.aclose()
