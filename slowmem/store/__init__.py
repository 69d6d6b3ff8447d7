"""The one results-folder format of slowmem (sweeps and ``slowmem train --out`` alike).

    files.py    atomic writes, hashes, canonical JSON, safetensors headers
    provenance.py  the stamp every stored file carries (slowmem version, commit, Python, libraries)
    documents.py   JSON documents (benchmarks, checks): written stamped and atomic, read checked
    networks.py    a plain file of a batch of networks (outside a results folder)
    schema.py   file names, the row schema and column vocabulary, the per-network array file
    folder.py   ResultsFolder: manifest, table, arrays, the write lock, verification of every read
    read.py     load_results (the table, summaries flattened) and load_networks (networks rebuilt)
    migrate.py  converts a slowmem 0.1 sweep folder into this format, once
"""
from .documents import read_document, write_document
from .files import atomic_write, dumps, jsonable, sha256_bytes, sha256_file, utc_now
from .folder import ResultsFolder, check_output_folder, read_manifest, read_table
from .networks import read_networks, save_networks
from .provenance import provenance
from .read import load_networks, load_results, verified_rows
from .schema import (
                     ARRAYS,
                     FORMAT,
                     MANIFEST,
                     MANIFEST_KIND,
                     MECHANISM,
                     METRICS,
                     STATUSES,
                     TABLE,
                     TIMING_COLUMNS,
                     analysis_column,
                     config_columns,
                     flatten_summaries,
                     pack_arrays,
                     rows_to_frame,
                     unpack_arrays,
)

__all__ = ["read_document", "write_document", "read_networks", "save_networks", "provenance",
           "atomic_write", "dumps", "jsonable", "sha256_bytes", "sha256_file", "utc_now", "ResultsFolder",
           "check_output_folder", "read_manifest", "read_table", "load_networks", "load_results", "verified_rows",
           "ARRAYS", "FORMAT", "MANIFEST", "MANIFEST_KIND", "MECHANISM", "METRICS", "STATUSES", "TABLE",
           "TIMING_COLUMNS", "analysis_column", "config_columns", "flatten_summaries", "pack_arrays", "rows_to_frame",
           "unpack_arrays"]
