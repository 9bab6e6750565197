"""What the HTTP plugins share: URL lists on the command line, asking several servers at once,
regular-expression options and secrets from a file or the environment (never from argv)."""

from __future__ import annotations

import os
import re
import threading
import time

from clusterwatch.checks.options import BadValue
from clusterwatch.core import quickhttp
from clusterwatch.core.errors import ClusterwatchError, FetchError

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Sequence
    from typing import Any

    from clusterwatch.checks.plugin import Progress

SERVER_SHARE = 0.8
"""Part of the time left that one server may take before it is counted down (not a timeout)."""


def url_arg(text: str) -> str:
    """One base URL: ``http(s)://host[:port]`` or ``host:port`` (http assumed)."""
    item = text.strip().rstrip("/")
    if not item:
        raise BadValue("empty URL")
    if "://" not in item:
        item = "http://" + item
    scheme, _, rest = item.partition("://")
    if scheme not in ("http", "https") or not rest or rest.startswith((":", "/")):
        raise BadValue(f"invalid URL {text!r} (http://host:port)")
    return item


def urls_arg(text: str) -> list[str]:
    """``url,url,...`` (a ``type=``)."""
    urls = [url_arg(item) for item in text.split(",") if item.strip()]
    if not urls:
        raise BadValue("no URL given")
    return urls


def flatten(groups: Sequence[Sequence[str]]) -> list[str]:
    """The URLs of a repeatable ``-H`` (``action="append"``), duplicates dropped."""
    out: list[str] = []
    for group in groups:
        out += [url for url in group if url not in out]
    return out


def positive_int(text: str) -> int:
    """``type=`` for a count: a whole number >= 1."""
    if not text.strip().isdigit() or int(text) < 1:
        raise BadValue(f"invalid count {text!r} (a whole number >= 1)")
    return int(text)


def regex_arg(spec: str) -> re.Pattern[str]:
    try:
        return re.compile(spec)
    except re.error as exc:
        raise BadValue(f"invalid regular expression {spec!r}: {exc}") from None


class MemberView:
    """One cluster member as a plugin asked it: up, with what it said, or down and why.

    Subclasses add their own slots and say what an up member told them in ``describe_up``.
    """

    __slots__ = ("error", "url")

    def __init__(self, url: str, error: str | None = "no answer") -> None:
        self.url = url
        self.error = error

    @property
    def up(self) -> bool:
        return self.error is None

    def describe(self) -> str:
        return self.describe_up() if self.up else f"{self.url}: down ({self.error})"

    def describe_up(self) -> str:
        raise NotImplementedError


class Answer:
    """One server's answer to a GET: the decoded JSON, or why there is none."""

    __slots__ = ("data", "error", "status", "url")

    def __init__(self, url: str, error: str = "no answer") -> None:
        self.url = url
        self.data: Any = None
        self.error: str | None = error
        self.status: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def ask(url: str, timeout: float, accept: Collection[int] = (200,)) -> Answer:
    answer = Answer(url)
    try:
        reply = quickhttp.get(url, timeout)
        answer.status = reply.status
        if reply.status not in accept:
            raise FetchError(url, reply.error_text(), reply.status)
        answer.data = reply.json()
        answer.error = None
    except FetchError as exc:
        answer.error = exc.reason if exc.status is None else f"HTTP {exc.status}: {exc.reason}"
    return answer


def ask_all(
    urls: Sequence[str],
    progress: Progress,
    what: str,
    accept: Collection[int] = (200,),
    asker: Callable[[str, float], Any] | None = None,
) -> list[Any]:
    """GET every URL at once, each within a share of the time left; a late one is down.

    ``asker(url, timeout)`` replaces the plain :func:`ask` when a server needs several
    requests; it must not raise (failures go into what it returns).
    """
    timeout = max(0.05, progress.remaining() * SERVER_SHARE)
    one: Callable[[str, float], Any] = asker or (lambda url, t: ask(url, t, accept))
    answers: list[Any] = [Answer(u, error=f"no answer within {timeout:.3g}s") for u in urls]

    def run(index: int) -> None:
        answers[index] = one(urls[index], timeout)

    if len(urls) == 1:
        progress.step(f"asking {urls[0]} for {what}")
        run(0)
        return answers
    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(urls))]
    deadline = time.monotonic() + timeout * 1.1  # the sockets' own timeouts should fire first
    progress.step(f"asking {', '.join(urls)} for {what}")
    for thread in threads:
        thread.start()
    for thread, url in zip(threads, urls, strict=True):
        progress.step(f"waiting for {what} from {url}")
        thread.join(max(0.0, deadline - time.monotonic()))
    return list(answers)


def read_secret(path: str | None, env: str | None) -> str | None:
    """A secret from ``path`` (its first line) or the environment variable ``env``."""
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.readline().rstrip("\r\n")
        except OSError as exc:
            raise ClusterwatchError(f"cannot read secret file {path}: {exc.strerror}") from None
    return os.environ.get(env) if env else None
