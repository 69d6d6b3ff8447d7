"""store.documents: JSON records written stamped and atomic, read back checked."""
from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from slowmem.config import ConfigError
from slowmem.store import ResultsFolder, provenance, read_document, write_document


def test_document_roundtrip_carries_the_stamp(tmp_path):
    p = write_document(tmp_path / "sub" / "bench.json", {"command": "x", "rate": np.float32(2.5), "n": np.int64(3)})
    doc = read_document(p, required=("command",))
    assert list(doc)[:2] == ["created", "provenance"]
    assert doc["provenance"] == provenance() and doc["rate"] == 2.5 and doc["n"] == 3
    assert not list(tmp_path.glob("sub/*.tmp*"))


def test_document_refuses_nan_and_reserved_keys_and_leaves_nothing(tmp_path):
    with pytest.raises(ConfigError, match="finite numbers only"):
        write_document(tmp_path / "a.json", {"x": float("nan")})
    with pytest.raises(ConfigError, match="written by write_document"):
        write_document(tmp_path / "a.json", {"provenance": {}})
    assert not (tmp_path / "a.json").exists()


@pytest.mark.parametrize("text, match", [(None, "no manifold check"), ("{broken", "not a readable"),
                                         ("[1, 2]", "JSON object was expected"), ('{"a": 1}', "lacks command")])
def test_read_document_names_what_is_wrong(tmp_path, text, match):
    p = tmp_path / "doc.json"
    if text is not None:
        p.write_text(text)
    with pytest.raises(ConfigError, match=match):
        read_document(p, required=("command",), what="manifold check")


def test_results_table_carries_the_stamp(tmp_path):
    folder = ResultsFolder(tmp_path / "r")
    folder.write_table([])
    meta = pq.read_schema(folder.table_path).metadata
    assert json.loads(meta[b"slowmem"]) == provenance()
