from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from tabpipe.errors import DataReadError
from tabpipe.repositories.raw_data import read_raw

FRAME = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".csv.bz2"])
def test_reads_plain_and_compressed_csv(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"data{suffix}"
    FRAME.to_csv(path, index=False)
    pd.testing.assert_frame_equal(read_raw(path, file_format="csv"), FRAME)


def test_reads_parquet(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    FRAME.to_parquet(path)
    pd.testing.assert_frame_equal(read_raw(path, file_format="parquet"), FRAME)


def test_csv_declared_as_parquet_is_a_read_error(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    FRAME.to_csv(path, index=False)
    with pytest.raises(DataReadError, match=r"not a readable Parquet file .*data\.format"):
        read_raw(path, file_format="parquet")


def test_other_delimiter_and_encoding(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes("a;b\n1;caf\xe9\n".encode("latin-1"))
    frame = read_raw(path, file_format="csv", delimiter=";", encoding="latin-1")
    assert frame.loc[0, "b"] == "café"


def test_a_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(DataReadError, match="is not a file"):
        read_raw(tmp_path, file_format="csv")


def test_whitespace_only_file(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("\n\n  \n")
    with pytest.raises(DataReadError, match="no columns to parse"):
        read_raw(path, file_format="csv")


def test_ragged_rows_are_a_parse_error(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text('a,b\n1,2\n3,"unclosed\n')
    with pytest.raises(DataReadError, match="malformed CSV"):
        read_raw(path, file_format="csv")


def test_gzip_content_under_a_csv_name_is_read_by_its_magic_bytes(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    FRAME.to_csv(path, index=False, compression="gzip")
    pd.testing.assert_frame_equal(read_raw(path, file_format="csv"), FRAME)


def test_parquet_content_under_a_csv_name_says_set_the_format(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    FRAME.to_parquet(path)
    with pytest.raises(DataReadError, match=r"holds Parquet data, not CSV\. Set data\.format"):
        read_raw(path, file_format="csv")


def test_an_undecodable_byte_is_located_by_line_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "data.csv.gz"
    text = "a,b\n" + "1,plain\n" * 40 + "2,caf\xe9\n"
    path.write_bytes(gzip.compress(text.encode("latin-1")))
    offset = len(("a,b\n" + "1,plain\n" * 40 + "2,caf").encode())
    with pytest.raises(DataReadError) as raised:
        read_raw(path, file_format="csv")
    assert f"cannot be decoded as utf-8: line 42, byte {offset} of the decompressed file" in str(
        raised.value
    )
