"""Opening everything a run needs, in order: config -> lock -> chain -> context.

The one-writer lock is taken before the chain is opened and held until the end; plan
mode reads only and takes no lock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from runner.config import Config
from runner.domain.schedule import canonical_network, ledger_network
from runner.engine.backends import Connection, connect
from runner.engine.chainview import ChainView, Retry
from runner.engine.context import Context, KeyRing, Settings
from runner.store import lock
from runner.store.datadir import DataDir


def uses_remote(config: Config) -> bool:
    """Without a caller's say (``remote=``): devnet is the embedded ledger unless the
    Ogmios URL differs from the default ``ws://127.0.0.1:1337``; other networks are remote.
    The CLI decides from the environment instead (runner/commands/seed.py:remote_chain)."""
    return canonical_network(config.network) != "devnet" or config.ogmios_url != Config().ogmios_url


@contextlib.contextmanager
def open_context(config: Config, *, keys: KeyRing | None = None, plan_mode: bool = False,
                 settings: Settings | None = None, command: str = "", retry: Retry | None = None,
                 remote: bool | None = None) -> Iterator[tuple[Context, Connection]]:
    network = canonical_network(config.network)
    data = DataDir(Path(config.data_directory))
    with contextlib.ExitStack() as stack:
        if not plan_mode:
            stack.enter_context(lock.hold(data.root, command))
        use_remote = uses_remote(config) if remote is None else remote
        connection = stack.enter_context(connect(
            network, config.ogmios_url if use_remote else None, config.kupo_url if use_remote else None, data.root))
        chain = ChainView(connection.backend, ledger_network(network), retry)
        yield Context(chain, data, keys or KeyRing(), network, settings or Settings(), plan_mode), connection
