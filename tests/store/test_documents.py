"""store.documents: JSON records written stamped and atomic, read back checked."""
from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from slowmem.config import ConfigError
from slowmem.errors import StoredFileError
from slowmem.store import ResultsFolder, provenance, read_document, read_manifest, write_document
from slowmem.store.records import add_run, new_manifest
from slowmem.store.schema import FORMAT


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
    with pytest.raises(StoredFileError, match=match):
        read_document(p, required=("command",), what="manifold check")


def test_results_table_carries_the_stamp(tmp_path):
    folder = ResultsFolder(tmp_path / "r")
    folder.write_table([])
    meta = pq.read_schema(folder.table_path).metadata
    assert json.loads(meta[b"slowmem"]) == provenance()


def test_a_manifest_of_a_newer_format_is_refused_naming_the_version(tmp_path):
    folder = ResultsFolder(tmp_path / "r")
    manifest = new_manifest({"name": "g"}, "abc", ["n1"])
    folder.path.mkdir()
    folder.write_manifest(manifest)
    assert read_manifest(folder.path)["format"] == FORMAT
    folder.write_manifest({**manifest, "format": FORMAT + 97, "slowmem_version": "9.0.0"})
    with pytest.raises(StoredFileError, match=r"newer slowmem \(9.0.0, results format 99\).*upgrade"):
        read_manifest(folder.path)
    folder.write_manifest({**manifest, "format": "2"})
    with pytest.raises(StoredFileError, match="format is '2'"):
        read_manifest(folder.path)


def test_a_run_entry_carries_the_provenance_stamp():
    manifest = new_manifest({"name": "g"}, "abc", ["n1"])
    entry = add_run(manifest, "slowmem sweep run g.yaml", batch=4)
    assert manifest["runs"] == [entry] and entry["batch"] == 4 and entry["finished"] is None
    assert entry["provenance"] == manifest["provenance"] == provenance()
