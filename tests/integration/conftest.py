"""Fixtures for the integration tests: a real PostgreSQL server (see pg.py), one per session,
and a new empty database per test."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import pg  # noqa: E402


@pytest.fixture(scope="session")
def pg_server():
    folder, why = pg.find_bin()
    if folder is None:
        pytest.skip(f"no PostgreSQL server can run here: {why}")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed: pip install -e '.[postgres]'")
    server = pg.start()
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server) -> str:
    """The URL (password included) of a new, empty database."""
    return pg_server.create_database(f"t_{uuid.uuid4().hex[:12]}")
