"""Read the built book in a real browser, page by page, as a reader would; exit 1 on any failure.

    python tests/browser/check_book.py book/_build/html [--screenshots DIR] [--json REPORT.json]

The site is served from a local HTTP server on 127.0.0.1 and opened in Debian's Chromium
(``/usr/bin/chromium``, driven by Playwright; ``playwright install`` is never needed). Every
request to any other address is blocked, so the pages are checked as an offline copy would be
read. For every HTML page of the site (``_static``, ``_sources`` and ``_images`` excluded):

* ``console``   no console error and no uncaught JavaScript exception;
* ``offline``   no request leaves the site (blocked requests are listed);
* ``images``    every ``<img>`` has loaded (``naturalWidth > 0``);
* ``figures``   every image of the article sits in a ``<figure>`` with a non-empty, numbered caption
                ("Fig. N" / "Figure N"), and its alt text is not empty and not a file name;
* ``overflow``  at a 1400 px wide window no admonition, table or output text block is wider than
                its box (``scrollWidth > clientWidth + 1``; each offender is named);
* ``links``     every link inside the site points at an existing file, and its ``#anchor`` at an
                existing id of that page;
* ``math``      on a page with mathematics, MathJax is loaded from the site itself and every
                formula has been rendered (an ``mjx-container`` inside each ``.math`` element);
* ``height``    every page (chapters, methods, the first page, ...) is less than ``MAX_HEIGHT`` px
                tall at a 1280 px wide window;
* ``phone``     at a 390 px wide window the document does not scroll sideways, and no table, figure,
                image, code or output block, formula or admonition reaches past the screen unless it
                sits in a box that scrolls sideways on its own and fits the screen (a wide table in its
                own scroll box is fine; one cut off by the page is not);
* ``footer``    the provenance footer (``.slowmem-provenance``) is on the page;
* ``sources``   the page cites no file outside the book (``PAPER.md``).

``--screenshots DIR`` also saves, for the pages named by ``--shots``, the top of the page at
1400 px and at 390 px (a phone), and the whole page at 1400 px.
"""
from __future__ import annotations

import argparse
import functools
import json
import re
import sys
import threading
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
CHECKS = ("console", "offline", "images", "figures", "overflow", "links", "math", "height", "phone", "footer",
          "sources")
WIDE, PHONE, DESK = (1400, 900), (390, 844), (1280, 900)
#: The tallest a chapter page may be at a 1280 px window: a reader finishes it.
MAX_HEIGHT = 8000
_NUMBERED = re.compile(r"^\s*(Fig\.|Figure)\s*\d+", re.I)
DEFAULT_SHOTS = ("intro", "04_mechanisms", "06_robustness", "07_report", "methods")
_FILE_NAME = re.compile(r"(^|/)[^/\s]+\.(png|jpe?g|svg|gif|webp|pdf)$", re.I)

# --------------------------------------------------------------------------- #
# what the page reports about itself (run in the browser)
# --------------------------------------------------------------------------- #
_WAIT_JS = """async () => {
  for (const img of document.images) { if (img.loading === 'lazy') img.loading = 'eager'; }
  await Promise.all([...document.images].map(i => i.complete ? null :
      new Promise(r => { i.addEventListener('load', r); i.addEventListener('error', r); })));
  const hasMath = document.querySelector('.math') !== null;
  if (hasMath) {
    for (let k = 0; k < 100 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); k++)
      await new Promise(r => setTimeout(r, 50));
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      await Promise.race([MathJax.startup.promise, new Promise(r => setTimeout(r, 15000))]);
    }
  }
  return hasMath;
}"""

_INSPECT_JS = """() => {
  const out = {images: [], figures: [], overflow: [], links: [], ids: [], math: {}, footer: false};
  const describe = (el) => {
    let d = el.tagName.toLowerCase();
    if (el.id) d += '#' + el.id;
    const cls = [...el.classList].slice(0, 3).join('.');
    if (cls) d += '.' + cls;
    const text = (el.innerText || '').trim().replace(/\\s+/g, ' ').slice(0, 70);
    return d + (text ? ` "${text}"` : '');
  };
  for (const img of document.images) {
    out.images.push({src: img.getAttribute('src') || '', ok: img.complete && img.naturalWidth > 0});
  }
  const article = document.querySelector('article.bd-article') || document.querySelector('[role=main]')
                  || document.body;
  for (const img of article.querySelectorAll('img')) {
    const fig = img.closest('figure');
    const cap = fig ? fig.querySelector('figcaption') : null;
    // textContent, not innerText: a caption in a collapsed cell is not rendered but is there
    out.figures.push({src: img.getAttribute('src') || '', alt: img.getAttribute('alt') || '',
                      caption: cap ? cap.textContent.trim() : null});
  }
  const boxes = [];
  for (const el of article.querySelectorAll('.admonition, div.cell_output pre, div.output pre')) {
    boxes.push([el.classList.contains('admonition') ? 'admonition' : 'output text', el, el]);
  }
  for (const t of article.querySelectorAll('table')) {
    let box = t.parentElement;
    while (box && box !== article) {
      const ox = getComputedStyle(box).overflowX;
      if (ox === 'auto' || ox === 'scroll' || ox === 'hidden') break;
      box = box.parentElement;
    }
    boxes.push(['table', t, box || article]);
  }
  for (const [kind, el, box] of boxes) {
    const wide = el === box ? el.scrollWidth : Math.ceil(el.getBoundingClientRect().width);
    if (wide > box.clientWidth + 1) {
      out.overflow.push({kind, what: describe(el), scroll: wide, client: box.clientWidth});
    }
  }
  for (const a of document.querySelectorAll('a[href]')) out.links.push(a.getAttribute('href'));
  for (const el of document.querySelectorAll('[id], a[name]')) out.ids.push(el.id || el.getAttribute('name'));
  const maths = [...document.querySelectorAll('.math')];
  out.math = {n: maths.length, rendered: maths.filter(m => m.querySelector('mjx-container')).length,
              containers: document.querySelectorAll('mjx-container').length,
              scripts: [...document.querySelectorAll('script[src]')].map(s => s.src).filter(s => /mathjax/i.test(s)),
              unrendered: maths.filter(m => !m.querySelector('mjx-container')).slice(0, 3)
                               .map(m => m.textContent.trim().slice(0, 60))};
  out.footer = document.querySelector('.slowmem-provenance') !== null;
  out.outside = (document.body.innerText.match(/PAPER[.]md.{0,50}/g) || []).slice(0, 5);
  return out;
}"""


_PHONE_JS = """() => {
  const W = document.documentElement.clientWidth, out = [];
  if (document.documentElement.scrollWidth > W + 1)
    out.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} px in ${W} px`);
  const article = document.querySelector('article.bd-article') || document.querySelector('[role=main]')
                  || document.body;
  const sel = 'table, figure, img, pre, .admonition, mjx-container, div.cell_output';
  for (const el of article.querySelectorAll(sel)) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || (r.right <= W + 1 && r.left >= -1)) continue;
    // inside a scrolling box that fits the screen (the nearest, or one further out: a table cell's math
    // scrolls with its table) the element does not widen the page
    let box = el.parentElement, inBox = false;
    while (box && box !== document.body && !inBox) {
      const ox = getComputedStyle(box).overflowX;
      if (ox === 'auto' || ox === 'scroll') { const b = box.getBoundingClientRect();
        inBox = b.right <= W + 1 && b.left >= -1; }
      box = box.parentElement;
    }
    if (!inBox) {
      const cls = [...el.classList].slice(0, 2).join('.');
      const text = (el.innerText || el.getAttribute('alt') || '').trim().replace(/\\s+/g, ' ').slice(0, 50);
      out.push(`${el.tagName.toLowerCase()}${cls ? '.' + cls : ''} reaches ${Math.round(r.right)} px on a ${W} px`
               + ` screen: "${text}"`);
    }
  }
  return out.slice(0, 10);
}"""


def layout_checks(browser, base: str, site: Path, pages: list[str], route) -> dict[str, dict[str, list[str]]]:
    """``{page: {"height": [...], "phone": [...]}}``: the height of every page at 1280 px, and what
    reaches past a 390 px screen."""
    out: dict[str, dict[str, list[str]]] = {p: {"height": [], "phone": []} for p in pages}
    for size, check in ((DESK, "height"), (PHONE, "phone")):
        ctx = browser.new_context(viewport={"width": size[0], "height": size[1]})
        ctx.route("**/*", route)
        for p in pages:
            if _REFRESH.search((site / p).read_text(encoding="utf-8", errors="replace")):
                continue
            tab = ctx.new_page()
            tab.goto(base + p, wait_until="load")
            tab.evaluate(_WAIT_JS)
            tab.wait_for_timeout(200)
            if check == "height":
                h = tab.evaluate("() => document.documentElement.scrollHeight")
                if h >= MAX_HEIGHT:
                    out[p]["height"].append(f"{h} px tall at {size[0]} px (limit {MAX_HEIGHT})")
            else:
                out[p]["phone"] = tab.evaluate(_PHONE_JS)
            tab.close()
        ctx.close()
    return out


# --------------------------------------------------------------------------- #
# the local server and the site's files
# --------------------------------------------------------------------------- #
class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:        # no access log on stderr
        pass


def serve(site: Path) -> tuple[ThreadingHTTPServer, str]:
    """Serve ``site`` on 127.0.0.1 (a free port) in a daemon thread; returns ``(server, base_url)``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def site_pages(site: Path) -> list[str]:
    """Every HTML page of the site, relative POSIX paths, sorted."""
    skip = ("_static/", "_sources/", "_images/")
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                  if not p.relative_to(site).as_posix().startswith(skip))


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs) -> None:
        for k, v in attrs:
            if k == "id" or (tag == "a" and k == "name"):
                self.ids.add(v or "")


@functools.cache
def _ids_of(path: Path) -> frozenset[str]:
    p = _Ids()
    p.feed(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(p.ids)


def check_links(site: Path, page: str, hrefs: list[str], ids_here: set[str], base: str) -> list[str]:
    """Problems with the internal links of ``page`` (external and mail links are not followed)."""
    problems = []
    page_url = base + page
    for href in dict.fromkeys(hrefs):
        if not href or href.startswith(("mailto:", "javascript:", "tel:", "data:")):
            continue
        scheme = urlsplit(href).scheme
        if scheme and not href.startswith(base):
            continue                                   # an external link: not ours to check offline
        url, frag = urldefrag(href if scheme else _join(page_url, href))
        if not url.startswith(base):
            problems.append(f"link {href!r} leaves the site")
            continue
        rel = unquote(urlsplit(url).path)[len(urlsplit(base).path):]
        target = site / rel if rel else site / "index.html"
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            shown = target.relative_to(site) if target.is_relative_to(site) else target
            problems.append(f"link {href!r}: no file {shown}")
            continue
        if frag:
            frag = unquote(frag)
            same = target.resolve() == (site / page).resolve()
            known = ids_here if same else (_ids_of(target) if target.suffix == ".html" else None)
            if known is not None and frag not in known:
                problems.append(f"link {href!r}: no anchor #{frag} in {target.relative_to(site).as_posix()}")
    return problems


def _join(page_url: str, href: str) -> str:
    from urllib.parse import urljoin

    return urljoin(page_url, href)


# --------------------------------------------------------------------------- #
# one page
# --------------------------------------------------------------------------- #
_REFRESH = re.compile(r"""<meta[^>]+http-equiv=["']?refresh["']?[^>]*url=([^"'>\s]+)""", re.I)


def check_page(context, site: Path, page: str, base: str, timeout_ms: int, state: dict) -> dict:
    """All checks of one page; returns ``{"page", "failures": {check: [..]}, "notes": [...]}``.

    ``state["blocked"]`` collects the requests the context's route blocked while the page loads.
    """
    redirect = _REFRESH.search((site / page).read_text(encoding="utf-8", errors="replace"))
    if redirect:                                       # a bare redirect (the book's index.html): check its target
        problems = check_links(site, page, [redirect.group(1)], set(), base)
        return {"page": page, "failures": {"links": problems} if problems else {},
                "notes": [f"redirects to {redirect.group(1)}"]}
    fails: dict[str, list[str]] = {c: [] for c in CHECKS}
    tab = context.new_page()
    tab.on("console", lambda m: fails["console"].append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    tab.on("pageerror", lambda e: fails["console"].append(f"uncaught exception: {e}"))
    tab.on("requestfailed", lambda r: fails["console"].append(f"request failed: {r.url} ({r.failure})")
           if r.url.startswith(base) else None)
    blocked: list[str] = []
    state["blocked"] = blocked
    try:
        tab.goto(base + page, wait_until="load", timeout=timeout_ms)
        has_math = tab.evaluate(_WAIT_JS)
        tab.wait_for_timeout(200)                      # late console messages of deferred scripts
        info = tab.evaluate(_INSPECT_JS)
    except Exception as e:                             # noqa: BLE001 - a page that cannot be read is a failure
        fails["console"].append(f"the page could not be read: {e}")
        tab.close()
        return {"page": page, "failures": {k: v for k, v in fails.items() if v}, "notes": []}
    tab.close()
    fails["offline"] = [f"blocked request to {u}" for u in dict.fromkeys(blocked)]
    fails["images"] = [f"image not loaded: {i['src']}" for i in info["images"] if not i["ok"]]
    for f in info["figures"]:
        if not f["caption"]:
            fails["figures"].append(f"figure without caption: {f['src']}")
        elif not _NUMBERED.match(f["caption"]):
            fails["figures"].append(f"figure not numbered ({f['caption'][:40]!r}): {f['src']}")
        alt = f["alt"].strip()
        if not alt:
            fails["figures"].append(f"no alt text: {f['src']}")
        elif _FILE_NAME.search(alt) or alt == f["src"] or alt.split("/")[-1] == f["src"].split("/")[-1]:
            fails["figures"].append(f"alt text is a file name ({alt!r}): {f['src']}")
    fails["overflow"] = [f"{o['kind']} overflows ({o['scroll']} px in {o['client']} px): {o['what']}"
                         for o in info["overflow"]]
    fails["links"] = check_links(site, page, info["links"], set(info["ids"]), base)
    m = info["math"]
    if has_math:
        local = [s for s in m["scripts"] if s.startswith(base)]
        if not local:
            which = f" (scripts: {', '.join(m['scripts'])})" if m["scripts"] else " (no MathJax script)"
            fails["math"].append("MathJax is not loaded from the site" + which)
        if m["rendered"] < m["n"]:
            fails["math"].append(f"{m['n'] - m['rendered']} of {m['n']} formulas not rendered, e.g. "
                                 + "; ".join(repr(t) for t in m["unrendered"]))
    if not info["footer"]:
        fails["footer"].append("no provenance footer (.slowmem-provenance)")
    fails["sources"] = [f"cites a file outside the book: {t!r}" for t in info["outside"]]
    notes = [f"{m['n']} formulas, {m['containers']} rendered by MathJax"] if has_math else []
    notes.append(f"{len(info['images'])} images, {len(info['figures'])} in the article")
    return {"page": page, "failures": {k: v for k, v in fails.items() if v}, "notes": notes}


def screenshots(browser, base: str, pages: list[str], names: tuple[str, ...], out: Path, route) -> list[Path]:
    """Top of the page at 1400 and 390 px, and the whole page at 1400 px, for each named page."""
    out.mkdir(parents=True, exist_ok=True)
    saved = []
    chosen = [p for p in pages if Path(p).stem in names]
    for size, tag in ((WIDE, "1400"), (PHONE, "390")):
        ctx = browser.new_context(viewport={"width": size[0], "height": size[1]})
        ctx.route("**/*", route)
        for p in chosen:
            tab = ctx.new_page()
            tab.goto(base + p, wait_until="load")
            tab.evaluate(_WAIT_JS)
            tab.wait_for_timeout(300)
            stem = Path(p).stem
            tab.screenshot(path=str(out / f"{stem}-{tag}.png"))
            saved.append(out / f"{stem}-{tag}.png")
            if tag == "1400":
                tab.screenshot(path=str(out / f"{stem}-1400-full.png"), full_page=True)
                saved.append(out / f"{stem}-1400-full.png")
            tab.close()
        ctx.close()
    return saved


# --------------------------------------------------------------------------- #
# the whole site
# --------------------------------------------------------------------------- #
def check_site(site: Path, *, shots_dir: Path | None = None, shots: tuple[str, ...] = DEFAULT_SHOTS,
               only: list[str] | None = None, timeout_ms: int = 60000, height: str = "fail") -> list[dict]:
    """Every check on every page of ``site``; ``height="report"`` lists pages over the height limit among a
    page's notes instead of its failures (the book's pages are not all under it yet: `make book-check`)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} not found: install Debian's Chromium (apt-get install -y chromium)")
    pages = site_pages(site)
    if only:
        pages = [p for p in pages if Path(p).stem in only or p in only]
    if not pages:
        raise SystemExit(f"no HTML pages in {site}")
    server, base = serve(site)
    results = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            ctx = browser.new_context(viewport={"width": WIDE[0], "height": WIDE[1]})
            state: dict = {"blocked": []}

            def route(r):
                if r.request.url.startswith(base) or r.request.url.startswith(("data:", "blob:", "about:")):
                    r.continue_()
                else:
                    state["blocked"].append(r.request.url)
                    r.abort("blockedbyclient")

            ctx.route("**/*", route)
            for p in pages:
                results.append(check_page(ctx, site, p, base, timeout_ms, state))
            ctx.close()
            layout = layout_checks(browser, base, site, pages, route)
            for r in results:
                for check, items in layout.get(r["page"], {}).items():
                    if items and check == "height" and height == "report":
                        r["notes"] += [f"over the height limit: {i}" for i in items]
                    elif items:
                        r["failures"][check] = items
            if shots_dir is not None:
                screenshots(browser, base, pages, shots, shots_dir, lambda r: r.continue_()
                            if r.request.url.startswith(base) else r.abort("blockedbyclient"))
            browser.close()
    finally:
        server.shutdown()
    return results


def report(results: list[dict]) -> str:
    lines = []
    for r in results:
        status = "FAIL" if r["failures"] else "ok  "
        lines.append(f"{status} {r['page']}  ({'; '.join(r['notes'])})")
        for check, items in r["failures"].items():
            for item in items:
                lines.append(f"       [{check}] {item}")
    failed = [r for r in results if r["failures"]]
    per_check = {c: sum(len(r["failures"].get(c, [])) for r in results) for c in CHECKS}
    lines.append("")
    lines.append("checks: " + ", ".join(f"{c} {'ok' if n == 0 else f'{n} failures'}" for c, n in per_check.items()))
    lines.append(f"{len(results) - len(failed)} pages passed, {len(failed)} pages failed")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("site", type=Path, help="the built HTML folder (book/_build/html)")
    ap.add_argument("--screenshots", type=Path, metavar="DIR", help="save screenshots of the --shots pages here")
    ap.add_argument("--shots", default=",".join(DEFAULT_SHOTS), help="pages to screenshot (stems, comma list)")
    ap.add_argument("--pages", help="check only these pages (stems or paths, comma list)")
    ap.add_argument("--json", type=Path, metavar="FILE", help="write the per-page report as JSON")
    ap.add_argument("--height", choices=("fail", "report"), default="fail",
                    help=f"a page {MAX_HEIGHT} px or taller at 1280 px fails (default) or is only reported")
    a = ap.parse_args(argv)
    site = a.site.resolve()
    if not (site / "index.html").is_file() and not any(site.glob("*.html")):
        ap.error(f"{a.site} holds no HTML pages; build the book first (make book)")
    results = check_site(site, shots_dir=a.screenshots, shots=tuple(s for s in a.shots.split(",") if s),
                         only=[s for s in a.pages.split(",") if s] if a.pages else None, height=a.height)
    print(report(results))
    if a.json:
        a.json.write_text(json.dumps(results, indent=2))
    return 1 if any(r["failures"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
