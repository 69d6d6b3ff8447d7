"""book/_ext/slowmem_book.py: the provenance footer's facts and the offline-MathJax guard."""
import hashlib
import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest

EXT = Path(__file__).resolve().parents[2] / "book" / "_ext" / "slowmem_book.py"


@pytest.fixture(scope="module")
def ext():
    spec = importlib.util.spec_from_file_location("slowmem_book", EXT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_provenance_facts(ext, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))      # tmp_path is no checkout
    (tmp_path / "data" / "grid").mkdir(parents=True)
    m = tmp_path / "data" / "grid" / "manifest.json"
    m.write_text('{"kind": "sweep"}')
    p = ext.provenance(tmp_path, "data/grid/manifest.json")
    assert p["manifest"] == "sha256 " + hashlib.sha256(m.read_bytes()).hexdigest()[:12]
    assert p["date"] == "2023-11-14 22:13 UTC" and p["commit"] == "unknown (not a git checkout)"
    assert p["torch"] != "not installed" and p["slowmem"] != "not installed"
    assert ext.provenance(tmp_path, "data/none/manifest.json")["manifest"] == "no stored population"
    (tmp_path / "data" / "population.json").write_text('{"members": [{"name": "g", "folder": "grid"}]}')
    both = ext.provenance(tmp_path, "data/population.json")["manifest"]
    m.write_text('{"kind": "sweep", "runs": [1]}')                # a member's manifest changes: so does the digest
    assert both != ext.provenance(tmp_path, "data/population.json")["manifest"]
    html = ext._footer_html(p, "data/grid/manifest.json")
    assert 'class="slowmem-provenance"' in html and p["manifest"] in html and "numba" in html


def test_provenance_reads_the_commit_of_this_checkout(ext):
    p = ext.provenance(EXT.parents[1], "data/population/population.json")
    assert len(p["commit"].split()[0]) == 12 and all(c in "0123456789abcdef" for c in p["commit"][:12])


def test_mathjax_must_be_served_from_the_site(ext, tmp_path):
    from sphinx.errors import ConfigError, ExtensionError

    app = SimpleNamespace(srcdir=str(tmp_path))
    cfg = SimpleNamespace(mathjax_path="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js",
                          html_static_path=[])
    with pytest.raises(ConfigError, match="must be a file served from the site"):
        ext._check_mathjax(app, cfg)
    cfg.mathjax_path = "mathjax/tex-mml-chtml.js"
    with pytest.raises(ExtensionError, match="make mathjax"):
        ext._check_mathjax(app, cfg)
    (tmp_path / "_vendor" / "mathjax").mkdir(parents=True)
    (tmp_path / "_vendor" / "mathjax" / "tex-mml-chtml.js").write_text("//")
    ext._check_mathjax(app, cfg)
    assert cfg.html_static_path == [str(tmp_path / "_vendor")]


def test_inline_scripts_are_kept_once(ext):
    from sphinx.builders.html._assets import _JavaScript

    body = "const THEBE_JS_URL = 1"
    files = [_JavaScript("a.js"), _JavaScript(None, body=body), _JavaScript("", body=body), _JavaScript("a.js")]
    app = SimpleNamespace(srcdir=".", config=SimpleNamespace(slowmem_manifest="none.json"))
    ctx = {"script_files": files}
    ext._page_context(app, "intro", "page.html", ctx, None)
    assert [(j.filename, j.attributes.get("body")) for j in ctx["script_files"]] == [("a.js", None), (None, body)]
    assert "slowmem-provenance" in ctx["theme_extra_footer"]
