"""Build the book, then open every page in headless Chromium and check it.

Every request that leaves the built book (anything but file:, data: and blob:
addresses) is blocked, so a page passes only if it works with no network. For
each page this saves a full-page screenshot and the DOM after scripts ran, and
checks:
- no page asked for anything outside the built book;
- every math element was typeset by MathJax, without MathJax errors;
- no raw `$$` is left in the text (outside code);
- every saved widget was drawn by the widget manager;
- every image the page uses exists and was decoded by the browser.

    python scripts/check_book.py [--book .] [--out _build/check] [--no-build]

Needs Chromium (Debian: `apt-get install chromium`); Playwright drives it. The
web assets are fetched first, so math and widgets must render without a network.
"""

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bs4 import BeautifulSoup
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
SKIP = {"genindex.html", "search.html", "index.html"}  # index.html is a redirect
LOCAL = ("file:", "data:", "blob:")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
WIDGET_VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]'
DRAWN = ".jupyter-widgets.lm-Widget"
# Resolves once MathJax has typeset the page (or at once on a page without it).
MATH_DONE = "async () => { if (window.MathJax?.startup?.promise) await MathJax.startup.promise; }"


def build(book):
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(book),
           "--all", "-W", "--keep-going"]
    subprocess.run([sys.executable, str(ROOT / "scripts" / "fetch_web_assets.py")],
                   check=True)
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    print(f"built in {time.perf_counter() - start:.0f} s")


def render(context, page_path, png):
    """Load one page offline; return its DOM after scripts ran and what it asked
    for outside the book."""
    outside = []
    page = context.new_page()
    page.on("request", lambda r: None if r.url.startswith(LOCAL) else outside.append(r.url))
    try:
        page.goto(page_path.as_uri(), wait_until="networkidle")
        page.evaluate(MATH_DONE)
        views = page.locator(WIDGET_VIEW).count()
        if views:  # the embed manager draws the saved widgets after loading
            try:
                page.wait_for_function(
                    f"n => document.querySelectorAll('{DRAWN}').length >= n",
                    arg=views, timeout=15_000)
            except PlaywrightError:
                pass  # reported by problems() as widgets not drawn
        broken = page.evaluate(
            "() => [...document.images].filter(i => !i.complete || i.naturalWidth === 0)"
            ".map(i => i.getAttribute('src'))")
        page.screenshot(path=str(png), full_page=True)
        height = page.evaluate("document.documentElement.scrollHeight")
        return page.content(), outside, broken, height
    finally:
        page.close()


def contents(dom):
    """Count what a rendered page shows: figures, typeset math, tables, widgets."""
    soup = BeautifulSoup(dom, "html.parser")
    body = soup.select_one("main") or soup
    return {
        "figures": len(body.select("img")),
        "math": len(body.select("span.math mjx-container, div.math mjx-container")),
        "tables": len(body.select("table")),
        "widgets": len(body.select(DRAWN)),
    }


def problems(page, dom, outside, broken):
    """Return a list of what is wrong with one rendered page."""
    soup = BeautifulSoup(dom, "html.parser")
    found = [f"asked the network for {url}" for url in outside]
    found += [f"image not shown: {src}" for src in broken]

    math = soup.select("span.math, div.math")
    untypeset = [m for m in math if m.find("mjx-container") is None]
    if untypeset:
        found.append(f"{len(untypeset)} of {len(math)} math elements not typeset")
    if soup.find("mjx-merror"):
        found.append("MathJax reported an error")

    for tag in soup(["pre", "code", "script", "style"]):
        tag.decompose()
    if "$$" in soup.get_text():
        found.append("raw $$ left in the text")

    source = BeautifulSoup(page.read_text(encoding="utf8"), "html.parser")
    views = source.select(WIDGET_VIEW)
    drawn = soup.select(DRAWN)
    if len(drawn) < len(views):
        found.append(f"{len(views) - len(drawn)} of {len(views)} widgets not drawn")

    for img in source.find_all("img"):
        src = img.get("src", "")
        if src and not src.startswith(("http:", "https:", "data:")):
            if not (page.parent / src.split("?")[0]).is_file():
                found.append(f"missing image {src}")
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", type=Path, default=ROOT, help="book folder")
    parser.add_argument("--out", type=Path, default=None,
                        help="where screenshots go (default: BOOK/_build/check)")
    parser.add_argument("--no-build", action="store_true", help="check as built")
    args = parser.parse_args()

    browser_path = next(filter(None, map(shutil.which, [
        "chromium", "chromium-browser", "google-chrome"])), None)
    if browser_path is None:
        sys.exit("Chromium not found; install it (Debian: apt-get install chromium)")
    html = args.book / "_build" / "html"
    out = args.out or args.book / "_build" / "check"
    out.mkdir(parents=True, exist_ok=True)

    if not args.no_build:
        build(args.book)

    pages = sorted(p for p in html.rglob("*.html")
                   if p.name not in SKIP and not p.relative_to(html).parts[0]
                   .startswith("_"))
    failures = 0
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=browser_path, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        # No network: anything outside the built book is refused (and reported).
        context.route("**/*", lambda route: route.continue_()
                      if route.request.url.startswith(LOCAL) else route.abort())
        for page in pages:
            name = "-".join(page.relative_to(html).with_suffix("").parts)
            png = (out / f"{name}.png").resolve()
            dom, outside, broken, height = render(context, page.resolve(), png)
            (out / f"{name}.dom.html").write_text(dom, encoding="utf8")
            found = problems(page, dom, outside, broken)
            failures += bool(found)
            shown = ", ".join(f"{n} {k}" for k, n in contents(dom).items())
            print(f"{'FAIL' if found else 'ok  '} {name}: {shown}; "
                  f"screenshot {height} px tall"
                  + "".join(f"\n     - {p}" for p in found))
        browser.close()

    print(f"pages: {len(pages) - failures} passed, {failures} failed")
    sys.exit(1 if failures or not pages else 0)


if __name__ == "__main__":
    main()
