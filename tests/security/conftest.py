"""Fixtures for the threat catalogue: the gateway and the edge over real HTTP, real SeaweedFS."""

from tests.edge.conftest import edge, filled_bucket  # noqa: F401 - re-exported fixtures
from tests.gateway.conftest import client, settings  # noqa: F401 - re-exported fixtures
