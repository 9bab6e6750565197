"""The plugins' command line: argparse's behaviour, without argparse on the common path.

Importing argparse and building a parser costs ~5 ms of every plugin run, a tenth of the
interpreter's own start-up (argparse imports gettext, which then looks up a translation for each
of its words and imports locale; it compiles regular expressions; each ``add_argument`` asks the
terminal its width). :class:`ArgumentParser` records the ``add_argument`` calls, as argparse
takes them, and parses the plain command lines itself: known options, a value in the next word
(not starting with ``-``) or after ``--long=``, ``type=`` conversions that succeed, required
options and exclusive groups satisfied. Anything else (``-h``, ``-V``, ``-vv``, an unknown or
missing option, a bad value, a conflict, ``--``) goes to a real argparse parser built from the
same record, which parses the words again: help, usage and every error message are argparse's
own, and a plain command line gets the namespace argparse gives it (the unit tests in
``test_check_options.py`` hold the two side by side).

``type=`` functions raise :class:`BadValue` (argparse's ``ArgumentTypeError``, which would
need argparse imported) for an error message of their own.
"""

from __future__ import annotations

from types import SimpleNamespace

TYPE_CHECKING = False  # typing costs start-up time: annotations only
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence
    from typing import Any, NoReturn

PLAIN_ACTIONS = ("store", "append", "count", "version")
"""The actions the plain path knows (``version`` only to send ``-V`` to argparse)."""
PLAIN_KEYWORDS = frozenset({"action", "default", "dest", "help", "metavar", "required", "type",
                            "version"})  # fmt: skip
"""``add_argument`` keywords the plain path understands; any other sends every run to argparse."""


class BadValue(Exception):
    """Raised by a ``type=`` function: the text is the error message (as argparse's
    ``ArgumentTypeError``)."""


class UsageError(Exception):
    """The command line is wrong; the text is shown to the user."""


class ParserExit(Exception):
    """argparse wanted to exit: after ``--help``/``--version`` (status 0, printed already)."""

    def __init__(self, status: int, message: str | None) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


class Namespace(SimpleNamespace):
    """The parsed options, as ``argparse.Namespace``."""

    if TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any: ...


class _Option:
    """One recorded ``add_argument``: what argparse gets, and what the plain path needs."""

    __slots__ = ("action", "default", "dest", "group", "kwargs", "names", "required", "type")

    def __init__(self, names: tuple[str, ...], kwargs: dict[str, Any], group: _Group | None):
        self.names = names
        self.kwargs = kwargs
        self.group = group
        self.action: str = kwargs.get("action", "store")
        self.default: Any = kwargs.get("default")
        self.required: bool = kwargs.get("required", False)
        self.type: Callable[[str], Any] | None = kwargs.get("type")
        longs = [n for n in names if n.startswith("--")]
        self.dest: str = kwargs.get("dest") or (longs or names)[0].lstrip("-").replace("-", "_")


class _Group:
    """An argument group (help layout only) or a mutually exclusive group, recorded."""

    def __init__(self, parser: ArgumentParser, exclusive: bool, args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> None:  # fmt: skip
        self.parser = parser
        self.exclusive = exclusive
        self.args = args
        self.kwargs = kwargs

    def add_argument(self, *names: str, **kwargs: Any) -> None:
        self.parser._record(names, kwargs, self)


class ArgumentParser:
    """Records options as ``argparse.ArgumentParser`` (``allow_abbrev=False``, the description
    and epilog printed as written) and parses plain command lines without it; argparse itself
    for the rest. An error raises :class:`UsageError` (argparse would print it and exit 2);
    ``--help`` and ``--version`` print, then raise :class:`ParserExit`."""

    def __init__(self, prog: str, description: str, epilog: str = "") -> None:
        self.prog = prog
        self.description = description
        self.epilog = epilog
        self.steps: list[_Option | _Group] = []
        self.options: dict[str, _Option] = {}
        self.plain = True
        self._argparse: argparse.ArgumentParser | None = None

    # ---------------------------------------------------------------- recording

    def add_argument(self, *names: str, **kwargs: Any) -> None:
        self._record(names, kwargs, None)

    def add_argument_group(self, *args: Any, **kwargs: Any) -> _Group:
        return self._group(False, args, kwargs)

    def add_mutually_exclusive_group(self, *args: Any, **kwargs: Any) -> _Group:
        return self._group(True, args, kwargs)

    def _group(self, exclusive: bool, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Group:
        group = _Group(self, exclusive, args, kwargs)
        self.steps.append(group)
        self._argparse = None
        return group

    def _record(self, names: tuple[str, ...], kwargs: dict[str, Any], group: _Group | None) -> None:
        option = _Option(names, kwargs, group)
        self.steps.append(option)
        self._argparse = None
        if option.action not in PLAIN_ACTIONS or not PLAIN_KEYWORDS.issuperset(kwargs):
            self.plain = False
        if not all(n.startswith("-") for n in names):
            self.plain = False  # a positional: argparse's job
        for name in names:
            self.options[name] = option

    # ---------------------------------------------------------------- parsing

    def parse_args(self, argv: Sequence[str]) -> Namespace:
        words = list(argv)
        namespace = self._parse_plain(words) if self.plain else None
        if namespace is None:
            namespace = Namespace()
            self.full().parse_args(words, namespace)
        return namespace

    def _parse_plain(self, words: list[str]) -> Namespace | None:
        """The namespace argparse would give, or None where argparse must decide."""
        actions = [step for step in self.steps if isinstance(step, _Option)]
        values = {o.dest: o.default for o in actions if o.action != "version"}
        seen: set[_Option] = set()
        changed: set[_Option] = set()  # given a value that is not the default (argparse's test)
        at = 0
        while at < len(words):
            name, equals, value = words[at].partition("=")
            if not name.startswith("--"):
                name, equals = words[at], ""  # ``-x=1`` is argparse's
            at += 1
            option = self.options.get(name)
            if option is None or option.action == "version":
                return None
            seen.add(option)
            if option.action == "count":
                if equals:
                    return None
                count = values[option.dest]
                values[option.dest] = (0 if count is None else count) + 1
                changed.add(option)
                continue
            if not equals:
                if at == len(words) or words[at].startswith("-"):
                    return None
                value = words[at]
                at += 1
            try:
                converted = option.type(value) if option.type else value
            except Exception:
                return None
            if converted is not option.default:
                changed.add(option)
            if option.action == "append":
                items = values[option.dest]
                values[option.dest] = [*([] if items is None else items), converted]
            else:
                values[option.dest] = converted
        for option in actions:
            if option in seen or option.action == "version":
                continue
            if option.required:
                return None
            if isinstance(option.default, str) and option.type is not None:
                try:  # argparse passes a string default through type= when not given
                    values[option.dest] = option.type(option.default)
                except Exception:
                    return None
        for step in self.steps:
            if isinstance(step, _Group) and step.exclusive:
                given = sum(o.group is step for o in changed)
                if given > 1 or (given == 0 and step.kwargs.get("required")):
                    return None
        return Namespace(**values)

    # ---------------------------------------------------------------- argparse

    def full(self) -> argparse.ArgumentParser:
        """The argparse parser for the same options (built once, when first needed)."""
        if self._argparse is None:
            self._argparse = _build_argparse(self)
        return self._argparse

    def format_usage(self) -> str:
        return self.full().format_usage()

    def format_help(self) -> str:
        return self.full().format_help()


def _build_argparse(recorded: ArgumentParser) -> argparse.ArgumentParser:
    import argparse  # only for --help, --version and errors: it costs start-up time

    class Parser(argparse.ArgumentParser):
        """argparse that raises instead of printing to stderr and exiting 2."""

        def error(self, message: str) -> NoReturn:
            if message.startswith("unrecognized arguments:"):
                words = message.split(":", 1)[1].split()
                options = [w.split("=", 1)[0] for w in words if w.startswith("-")]
                message = "unrecognized arguments" + (f": {' '.join(options)}" if options else "")
            raise UsageError(message)

        def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
            raise ParserExit(status, message)

    def converter(func: Callable[[str], Any]) -> Callable[[str], Any]:
        def convert(text: str) -> Any:
            try:
                return func(text)
            except BadValue as exc:
                raise argparse.ArgumentTypeError(str(exc)) from None

        # argparse names the type in its own messages ("invalid positive_int value: 'x'")
        convert.__name__ = getattr(func, "__name__", repr(func))
        return convert

    parser = Parser(
        prog=recorded.prog,
        description=recorded.description,
        epilog=recorded.epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    groups: dict[int, Any] = {}
    for step in recorded.steps:
        if isinstance(step, _Group):
            make = (parser.add_mutually_exclusive_group if step.exclusive
                    else parser.add_argument_group)  # fmt: skip
            groups[id(step)] = make(*step.args, **step.kwargs)
            continue
        kwargs = dict(step.kwargs)
        if step.type is not None:
            kwargs["type"] = converter(step.type)
        target = parser if step.group is None else groups[id(step.group)]
        target.add_argument(*step.names, **kwargs)
    return parser
