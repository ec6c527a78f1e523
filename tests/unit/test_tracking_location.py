"""The store's stamp changes with every write to a SQLite store, and is absent for a server."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tabpipe.repositories.mlflow_store.location import TrackingStore, store_stamp


def test_the_stamp_of_a_sqlite_store_changes_with_every_write_and_not_with_a_read(
    tmp_path: Path,
) -> None:
    database = tmp_path / "mlflow.db"
    store = TrackingStore(uri=f"sqlite:///{database}", artifact_location=None)
    assert store_stamp(store) is None  # no store yet: nothing to compare with
    with sqlite3.connect(database) as connection:
        connection.execute("create table aliases (name text, version int)")
    stamps = [store_stamp(store)]
    for version in (1, 1, 2):  # the same row twice: a write all the same
        with sqlite3.connect(database) as connection:
            connection.execute("insert into aliases values ('champion', ?)", (version,))
        stamps.append(store_stamp(store))
    with sqlite3.connect(database) as connection:
        connection.execute("select * from aliases").fetchall()
    assert store_stamp(store) == stamps[-1]
    assert len(set(stamps)) == len(stamps)


def test_a_tracking_server_gives_no_stamp() -> None:
    server = TrackingStore(uri="http://127.0.0.1:5000", artifact_location=None)
    assert store_stamp(server) is None
