"""tests/browser/check_book.py passes a sound tiny site and fails each page broken on purpose.

Needs Debian's Chromium at /usr/bin/chromium (`.ci/run` installs it) and Playwright from pip
(the `dev` extra). The test fails, it is not skipped, where either is missing.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

#: each test drives headless Chromium: make test-all runs them (CI), make test does not
pytestmark = pytest.mark.slow

CHECKER = Path(__file__).resolve().parents[1] / "browser" / "check_book.py"

# a stand-in for MathJax: renders every .math element into an <mjx-container>, as MathJax does
FAKE_MATHJAX = """
window.MathJax = {startup: {promise: Promise.resolve()}};
document.addEventListener('DOMContentLoaded', () => {
  for (const m of document.querySelectorAll('.math')) {
    const c = document.createElement('mjx-container'); c.textContent = m.textContent; m.replaceChildren(c);
  }
});
"""

PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<script src="_static/mathjax/tex-mml-chtml.js"></script>{head}</head>
<meta name="viewport" content="width=device-width, initial-scale=1">
<body style="margin: 0"><article class="bd-article" style="max-width: 800px">
<h1 id="top">{title}</h1>
<p>Inline math <span class="math notranslate nohighlight">\\(x = \\tanh(y)\\)</span>.</p>
<figure><img src="_images/dot.png" alt="A single blue dot on white"><figcaption>Figure 1: a dot.</figcaption></figure>
<div class="admonition note"><p class="admonition-title">Verdict</p><p>C4 held.</p></div>
<div class="pst-scrollable-table-container" style="overflow-x: auto"><table><tr><td>a</td><td>b</td></tr></table></div>
<p><a href="{other}.html#part">the other page</a>, <a href="#top">top</a>, <a href="https://example.org/">outside</a></p>
<h2 id="part">Part</h2>
{body}
</article><footer><p class="slowmem-provenance">Built from commit abc.</p></footer></body></html>
"""


def _png() -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import io

    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(0.4, 0.4), dpi=50)
    fig.gca().plot([0], [0], "o")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _site(root: Path, *, head: str = "", body: str = "") -> Path:
    (root / "_static" / "mathjax").mkdir(parents=True)
    (root / "_static" / "mathjax" / "tex-mml-chtml.js").write_text(FAKE_MATHJAX)
    (root / "_images").mkdir()
    (root / "_images" / "dot.png").write_bytes(_png())
    (root / "a.html").write_text(PAGE.format(title="A", other="b", head=head, body=body))
    (root / "b.html").write_text(PAGE.format(title="B", other="a", head="", body=""))
    (root / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=a.html" />')
    (root / "_sources").mkdir()
    (root / "_sources" / "a.ipynb").write_text("{}")        # page a is a chapter
    return root


def _check(site: Path, *extra: str) -> tuple[int, str, list[dict]]:
    assert Path("/usr/bin/chromium").exists(), "the browser test needs Debian's Chromium: apt-get install -y chromium"
    report = site.parent / f"{site.name}-report.json"
    p = subprocess.run([sys.executable, str(CHECKER), str(site), "--json", str(report), *extra],
                       capture_output=True, text=True, timeout=300)
    assert "Traceback" not in p.stderr, p.stderr
    return p.returncode, p.stdout, json.loads(report.read_text())


def test_a_sound_site_passes(tmp_path):
    rc, out, results = _check(_site(tmp_path / "site"), "--screenshots", str(tmp_path / "shots"), "--shots", "a")
    assert rc == 0, out
    assert "3 pages passed, 0 pages failed" in out
    page = {r["page"]: r for r in results}["a.html"]
    assert page["failures"] == {} and "1 formulas, 1 rendered by MathJax" in page["notes"][0]
    assert {p.name for p in (tmp_path / "shots").iterdir()} == {"a-1400.png", "a-390.png", "a-1400-full.png"}


BREAKS = {
    "image removed": (dict(), "images", "image not loaded: _images/dot.png"),
    "console error": (dict(head="<script>console.error('boom on purpose')</script>"), "console",
                      "console.error: boom on purpose"),
    "exception": (dict(head="<script>const X = 1;</script><script>const X = 2;</script>"), "console",
                  "uncaught exception"),
    "figure without caption": (dict(body='<img src="_images/dot.png" alt="another dot">'), "figures",
                               "figure without caption: _images/dot.png"),
    "file-name alt": (dict(body='<figure><img src="_images/dot.png" alt="../_images/dot.png">'
                               '<figcaption>x</figcaption></figure>'), "figures", "alt text is a file name"),
    "wide verdict": (dict(body='<div class="admonition"><pre style="white-space: pre">' + "C6 did not hold " * 30
                               + "</pre></div>"), "overflow", "admonition overflows"),
    "wide table": (dict(body="<div style='overflow-x: auto'><table><tr>" + "<td>success_column</td>" * 60
                             + "</tr></table></div>"), "overflow", "table overflows"),
    "unnumbered figure": (dict(body='<figure><img src="_images/dot.png" alt="another dot">'
                                    '<figcaption>a dot with no number</figcaption></figure>'), "figures",
                          "figure not numbered"),
    "too tall": (dict(body='<div style="height: 8200px">a very long chapter</div>'), "height",
                 "px tall at 1280 px (limit 8000)"),
    "wider than a phone": (dict(body='<figure><img src="_images/dot.png" alt="a wide dot" style="width: 600px">'
                                     '<figcaption>Fig. 2 a wide dot</figcaption></figure>'), "phone",
                           "reaches"),
    "table cut off on a phone": (dict(body="<div style='overflow: hidden'><table><tr>"
                                           + "<td>success</td>" * 12 + "</tr></table></div>"), "phone", "table"),
    "broken link": (dict(body='<a href="c.html">gone</a> <a href="b.html#nowhere">no anchor</a>'), "links",
                    "no file c.html"),
    "math from a CDN": (dict(head='<script src="https://cdn.example.org/mathjax/tex-chtml.js"></script>'),
                        "offline", "blocked request to https://cdn.example.org/mathjax/tex-chtml.js"),
    "outside source": (dict(body="<p>As defined in PAPER.md section 7.</p>"), "sources",
                       "cites a file outside the book: 'PAPER.md section 7.'"),
    "no footer": (dict(body="<script>document.addEventListener('DOMContentLoaded', "
                            "() => document.querySelector('.slowmem-provenance').remove())</script>"), "footer",
                  "no provenance footer"),
}


@pytest.mark.parametrize("what", list(BREAKS))
def test_a_page_broken_on_purpose_fails(tmp_path, what):
    kwargs, check, words = BREAKS[what]
    site = _site(tmp_path / "site", **kwargs)
    if what == "image removed":
        (site / "_images" / "dot.png").unlink()
    rc, out, results = _check(site)
    assert rc == 1, out
    page = {r["page"]: r for r in results}
    assert page["b.html"]["failures"] == {} or what == "image removed", out     # only the broken page fails
    assert any(words in item for item in page["a.html"]["failures"].get(check, [])), out
    assert f"[{check}]" in out and "pages failed" in out


def test_math_not_rendered_is_a_failure(tmp_path):
    site = _site(tmp_path / "site")
    (site / "_static" / "mathjax" / "tex-mml-chtml.js").write_text("window.MathJax = {};")   # loads, renders nothing
    rc, out, results = _check(site, "--pages", "a")
    assert rc == 1 and "[math] 1 of 1 formulas not rendered" in out, out


def test_collapsed_captions_scrolling_tables_and_a_reported_height_pass(tmp_path):
    body = ('<details><summary>Show the figure</summary><figure><img src="_images/dot.png" alt="a collapsed dot">'
            '<figcaption>Fig. 2 a dot in a collapsed cell</figcaption></figure></details>'
            '<div style="overflow-x: auto"><table><tr><td><span class="math" style="overflow-x: auto; '
            'display: inline-block; white-space: nowrap">' + "x + " * 18 + 'y</span></td></tr></table></div>'
            '<div style="height: 8200px">a very long chapter</div>')
    site = _site(tmp_path / "site", body=body)
    rc, out, results = _check(site, "--height", "report")
    assert rc == 0, out                                   # the caption counts though collapsed; the math scrolls
    notes = {r["page"]: r for r in results}["a.html"]["notes"]
    assert any("over the height limit" in n and "(limit 8000)" in n for n in notes), notes
    rc, out, _ = _check(site)                             # by default the height fails
    assert rc == 1 and "[height]" in out and "[figures]" not in out and "[phone]" not in out, out
