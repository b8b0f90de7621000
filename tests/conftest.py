"""Test-wide guard: no outbound network, only loopback, so the suite proves the offline default.

Every socket connection (and host-name lookup) from the test process to anything but loopback
raises :class:`NetworkBlocked`, a ``ConnectionRefusedError``, so code with an offline fallback
takes it and code without one fails loudly. The guard covers this process only: `make test`
also runs the suite inside a network namespace with only loopback (``unshare -n``, as root), which
reaches subprocesses such as Jupyter kernels and the browser too.

Tests that must reach a package registry (a pip dry run of our version ranges) carry
``@pytest.mark.registry``: the guard lets them through, and `make test` runs them in a separate
pytest call outside the namespace (``pytest -m registry``).
"""

from __future__ import annotations

import ipaddress
import socket

import pytest

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
_state = {"allowed": False}


class NetworkBlocked(ConnectionRefusedError):
    """Raised for a connection to anything but loopback while the test suite runs."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "registry: needs a package registry over the network; runs outside the offline "
        "namespace (`make registry`, or `pytest -m registry`)",
    )


def is_loopback(host) -> bool:
    """Whether ``host`` (a name or an IPv4/IPv6 address) is this machine's loopback."""
    if host is None:  # getaddrinfo(None, port) means the local wildcard/loopback
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host.lower() in _LOOPBACK_NAMES or host == socket.gethostname():
        return True
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def _blocked(what: str) -> str:
    return (
        f"network access is blocked in tests ({what}): the suite must pass offline. "
        "Mark a test @pytest.mark.registry only if it must reach a package registry."
    )


def _guard(method):
    def guarded(self, address, *args, **kwargs):
        if (
            not _state["allowed"]
            and self.family in (socket.AF_INET, socket.AF_INET6)
            and not is_loopback(address[0])
        ):
            raise NetworkBlocked(_blocked(f"connect to {address[0]}:{address[1]}"))
        return method(self, address, *args, **kwargs)

    return guarded


def _is_address(host) -> bool:
    try:
        ipaddress.ip_address(str(host).split("%")[0])
    except ValueError:
        return False
    return True


def _guard_lookup(lookup):
    def guarded(host, *args, **kwargs):  # an address needs no DNS: connect() judges it
        if not _state["allowed"] and not is_loopback(host) and not _is_address(host):
            raise socket.gaierror(socket.EAI_NONAME, _blocked(f"look up {host!r}"))
        return lookup(host, *args, **kwargs)

    return guarded


@pytest.fixture(autouse=True, scope="session")
def block_network():
    """Install the guard once for the whole session (module fixtures included)."""
    patch = pytest.MonkeyPatch()
    patch.setattr(socket.socket, "connect", _guard(socket.socket.connect))
    patch.setattr(socket.socket, "connect_ex", _guard(socket.socket.connect_ex))
    patch.setattr(socket, "getaddrinfo", _guard_lookup(socket.getaddrinfo))
    yield
    patch.undo()


@pytest.fixture(autouse=True)
def registry_access(request: pytest.FixtureRequest):
    """Lift the guard for the duration of a test marked ``registry``."""
    _state["allowed"] = request.node.get_closest_marker("registry") is not None
    try:
        yield
    finally:
        _state["allowed"] = False


# Property tests (hypothesis): the same examples on every run, nothing written into the checkout
# (no example database), and no per-example deadline on a shared 2-core machine.
try:
    from hypothesis import settings

    settings.register_profile("lessonkit", database=None, derandomize=True, deadline=None)
    settings.load_profile("lessonkit")
except ImportError:  # the property tests skip themselves without hypothesis
    pass


# GPT-2's tokenizer, ours and tiktoken's, shared by the tokenizer tests. tiktoken's encoding is
# built offline from the same data/gpt2/ files with tiktoken's own copy of GPT-2's split pattern,
# so the two sides share only the data, not the code.
@pytest.fixture(scope="session")
def gpt2():
    from lessonkit.text import GPT2Tokenizer

    return GPT2Tokenizer.from_data()


@pytest.fixture(scope="session")
def reference():
    """tiktoken's GPT-2 encoding (skips the test without tiktoken); a test module may define its
    own ``reference`` fixture (WordPiece's is transformers'), which then wins."""
    tiktoken = pytest.importorskip("tiktoken")
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks
    from tiktoken_ext.openai_public import r50k_pat_str

    from lessonkit.data import data_dir
    from lessonkit.text import ENDOFTEXT

    ranks = data_gym_to_mergeable_bpe_ranks(
        str(data_dir() / "gpt2" / "vocab.bpe"), str(data_dir() / "gpt2" / "encoder.json")
    )
    return tiktoken.Encoding(
        name="gpt2_offline", pat_str=r50k_pat_str, mergeable_ranks=ranks,
        special_tokens={ENDOFTEXT: 50256},
    )  # fmt: skip
