"""Credentials: from the URI, libpq's environment variables or a service file; a
password never appears in a message."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from segrule.errors import DataError
from segrule.io.database import scan_database


@pytest.fixture(scope="module")
def people(pg) -> str:
    pg.load(pl.DataFrame({"customer_id": ["a", "b"]}), "people")
    return "public.people"


def count(source: str) -> int:
    return int(scan_database(source).select(pl.len()).collect().item())


def test_uri_with_password(pg, people: str) -> None:
    assert count(f"{pg.uri}#{people}") == 2


def test_environment(pg, people: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGUSER", pg.user)
    monkeypatch.setenv("PGPASSWORD", pg.password)
    assert count(f"{pg.bare_uri}#{people}") == 2
    monkeypatch.setenv("PGHOST", pg.host)
    monkeypatch.setenv("PGPORT", str(pg.port))
    monkeypatch.setenv("PGDATABASE", pg.database)
    assert count(f"postgresql://#{people}") == 2
    monkeypatch.setenv("PGPASSWORD", "not-the-password-42")
    with pytest.raises(DataError) as err:
        count(f"{pg.bare_uri}#{people}")
    text = str(err.value)
    assert "cannot connect" in text and "password authentication failed" in text
    assert "not-the-password-42" not in text and "\n" not in text


def test_service_file(pg, people: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    services = tmp_path / "pg_service.conf"
    services.write_text(
        f"[scoring]\nhost={pg.host}\nport={pg.port}\ndbname={pg.database}\n"
        f"user={pg.user}\npassword={pg.password}\n"
    )
    monkeypatch.setenv("PGSERVICEFILE", str(services))
    assert count(f"postgresql:///?service=scoring#{people}") == 2


def test_wrong_password_in_uri_is_not_printed(pg, people: str) -> None:
    wrong = pg.uri.replace("%2Ftests", "%2Fnope")
    with pytest.raises(DataError) as err:
        count(f"{wrong}#{people}")
    text = str(err.value)
    assert "cannot connect" in text and "***" in text
    assert "nope" not in text and "s3cr" not in text
