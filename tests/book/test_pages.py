"""slowmem.book.pages (tables in full, the count notes) and slowmem.book.kernel (a quiet kernel spec)."""
import json

import pandas as pd

from slowmem.book import kernel
from slowmem.book.pages import full_table, shares_note
from slowmem.store.population import SHARES_COLUMN


def test_full_table_never_truncates_a_cell():
    long = "fraction of 160 replays whose response error exceeds 0.005 to 0.1; the cut used is not stated"
    html = full_table(pd.DataFrame({"measure": [long]}), "slowmem-dashboard").data
    assert long in html and "..." not in html and 'class="slowmem-dashboard"' in html


def test_shares_note_explains_the_difference_and_is_empty_without_one():
    drawn = pd.DataFrame({SHARES_COLUMN: [True] * 5 + [False] * 2})
    text = shares_note(drawn).data
    assert "all 7 networks" in text and "counts 5 of them" in text and "other 2" in text
    assert shares_note(drawn[drawn[SHARES_COLUMN]]).data == ""
    assert shares_note(pd.DataFrame({"x": [1, 2]})).data == ""


def test_quiet_kernel_spec_is_idempotent(tmp_path):
    spec = {"argv": ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"], "language": "python"}
    p = tmp_path / "kernel.json"
    p.write_text(json.dumps(spec))
    kernel.main(p)
    kernel.main(p)
    argv = json.loads(p.read_text())["argv"]
    assert argv == ["python", "-m", "ipykernel_launcher", kernel.QUIET, "-f", "{connection_file}"]
