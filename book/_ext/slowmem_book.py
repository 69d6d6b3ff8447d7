"""Sphinx extension of the slowmem book: offline MathJax, a provenance footer, one copy of each inline script.

Loaded through ``sphinx: local_extensions:`` in ``_config.yml``.

* **Offline MathJax.** ``mathjax_path`` must be a path relative to the site's
  ``_static`` folder, not a URL: the MathJax files are taken from
  ``<book>/_vendor/`` (filled by ``make mathjax`` from the npm package
  ``mathjax``; git-ignored) and copied into the built site, so a copy of the
  site renders its mathematics without any network. A missing MathJax stops
  the build with a message saying how to get it.
* **Provenance footer.** Every page's footer states the git commit the book
  was built from, the build date (UTC; ``SOURCE_DATE_EPOCH`` if set), the
  versions of slowmem, torch and numba, and the first 12 hex digits of the
  SHA-256 of the stored population's manifest (``slowmem_manifest``,
  relative to the book folder), or "no stored population".
* **Inline scripts once.** Sphinx 7.4 re-adds every body-only script that an
  extension registers after the builder started (sphinx-thebe's
  configuration, sphinx-togglebutton's selector) under the file name ``''``
  instead of ``None``, so those scripts appear twice in every page; the
  second ``const THEBE_JS_URL`` is a JavaScript error on every page. The page
  context's ``script_files`` is de-duplicated here.
"""
from __future__ import annotations

import hashlib
import html
import os
import subprocess
import time
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ConfigError, ExtensionError

VENDOR = "_vendor"
_PROVENANCE: dict[int, dict[str, str]] = {}     # id(app) -> the footer's facts, computed once per build


def _check_mathjax(app: Sphinx, config: Config) -> None:
    path = str(config.mathjax_path or "")
    if "://" in path or path.startswith("//") or not path:
        raise ConfigError(f"mathjax_path must be a file served from the site (relative to _static), e.g. "
                          f"'mathjax/tex-mml-chtml.js'; got {path!r}. The book must render math offline.")
    vendor = Path(app.srcdir) / VENDOR
    if not (vendor / path).is_file():
        raise ExtensionError(f"MathJax is missing: {vendor / path} does not exist. Run `make mathjax` (it unpacks "
                             "the npm package mathjax into book/_vendor/mathjax).")
    config.html_static_path = [*config.html_static_path, str(vendor)]


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=20, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def _version(dist: str) -> str:
    from importlib import metadata

    if dist == "slowmem":
        try:
            import slowmem

            return slowmem.__version__
        except ImportError:
            return "not installed"
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _digest(m: Path):
    """SHA-256 of a manifest; of a population index, of the index followed by its members' manifests."""
    h = hashlib.sha256(m.read_bytes())
    if m.name == "population.json":
        import json

        for member in json.loads(m.read_text()).get("members", []):
            f = m.parent / str(member.get("folder", "")) / "manifest.json"
            if f.is_file():
                h.update(f.read_bytes())
    return h


def provenance(srcdir: Path, manifest: str) -> dict[str, str]:
    """The footer's facts: ``commit, date, slowmem, torch, numba, manifest``."""
    commit = _git(["rev-parse", "HEAD"], srcdir)
    if commit:
        dirty = _git(["status", "--porcelain", "--untracked-files=no"], srcdir)
        commit = commit[:12] + (" (with local changes)" if dirty else "")
    else:
        commit = "unknown (not a git checkout)"
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    t = time.gmtime(int(epoch)) if epoch and epoch.isdigit() else time.gmtime()
    m = Path(srcdir) / manifest
    digest = ("sha256 " + _digest(m).hexdigest()[:12]) if m.is_file() else "no stored population"
    return {"commit": commit, "date": time.strftime("%Y-%m-%d %H:%M UTC", t), "slowmem": _version("slowmem"),
            "torch": _version("torch"), "numba": _version("numba"), "manifest": digest}


def _footer_html(p: dict[str, str], manifest: str) -> str:
    e = {k: html.escape(v) for k, v in p.items()}
    return (f'<p class="slowmem-provenance">Built {e["date"]} from commit <code>{e["commit"]}</code> with '
            f'slowmem {e["slowmem"]}, torch {e["torch"]}, numba {e["numba"]}. '
            f'Population manifest (<code>{html.escape(manifest)}</code>): {e["manifest"]}.</p>')


def _builder_inited(app: Sphinx) -> None:
    _PROVENANCE[id(app)] = provenance(Path(app.srcdir), app.config.slowmem_manifest)


def _page_context(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    scripts = context.get("script_files")
    if scripts:
        seen, unique = set(), []
        for js in scripts:
            key = (getattr(js, "filename", js) or None, getattr(js, "priority", None),
                   tuple(sorted(getattr(js, "attributes", {}).items())))
            if key not in seen:
                seen.add(key)
                unique.append(js)
        context["script_files"] = unique
    p = _PROVENANCE.get(id(app)) or provenance(Path(app.srcdir), app.config.slowmem_manifest)
    context["theme_extra_footer"] = _footer_html(p, app.config.slowmem_manifest)


def setup(app: Sphinx) -> dict:
    app.add_config_value("slowmem_manifest", "data/population/population.json", "html")
    app.connect("config-inited", _check_mathjax)
    app.connect("builder-inited", _builder_inited)
    app.connect("html-page-context", _page_context, priority=999)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
