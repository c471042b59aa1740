"""Build the book, then open every page in headless Chromium and check it.

For each page this saves a screenshot and the DOM after scripts ran, and checks:
- every math element was typeset by MathJax, without MathJax errors;
- no raw `$$` is left in the text (outside code);
- every saved widget was drawn by the widget manager;
- every local image the page uses exists.

    python scripts/check_book.py [--book .] [--out _build/check] [--no-build]

Needs Chromium (Debian: `apt-get install chromium`). The web assets are fetched
first, so math and widgets must render without a network.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
SKIP = {"genindex.html", "search.html", "index.html"}  # index.html is a redirect
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
    "--window-size=1280,2000", "--virtual-time-budget=10000",
]


def build(book):
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(book),
           "--all", "-W", "--keep-going"]
    subprocess.run([sys.executable, str(ROOT / "scripts" / "fetch_web_assets.py")],
                   check=True)
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    print(f"built in {time.perf_counter() - start:.0f} s")


def render(page, png, browser, profile):
    """Screenshot a page and return its DOM after scripts have run."""
    result = subprocess.run(
        [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
         f"--screenshot={png}", "--dump-dom", page.as_uri()],
        check=True, capture_output=True, text=True, timeout=120,
    )
    return result.stdout


def contents(dom):
    """Count what a rendered page shows: figures, typeset math, tables, widgets."""
    soup = BeautifulSoup(dom, "html.parser")
    body = soup.select_one("main") or soup
    return {
        "figures": len(body.select("img")),
        "math": len(body.select("span.math mjx-container, div.math mjx-container")),
        "tables": len(body.select("table")),
        "widgets": len(body.select(".jupyter-widgets.lm-Widget")),
    }


def problems(page, dom):
    """Return a list of what is wrong with one rendered page."""
    soup = BeautifulSoup(dom, "html.parser")
    found = []

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
    views = source.select('script[type="application/vnd.jupyter.widget-view+json"]')
    drawn = soup.select(".jupyter-widgets.lm-Widget")
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

    browser = next(filter(None, map(shutil.which, ["chromium", "chromium-browser",
                                                   "google-chrome"])), None)
    if browser is None:
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
    with tempfile.TemporaryDirectory() as profile:
        for page in pages:
            name = "-".join(page.relative_to(html).with_suffix("").parts)
            dom = render(page, (out / f"{name}.png").resolve(), browser, profile)
            (out / f"{name}.dom.html").write_text(dom, encoding="utf8")
            found = problems(page, dom)
            failures += bool(found)
            shown = ", ".join(f"{n} {k}" for k, n in contents(dom).items())
            print(f"{'FAIL' if found else 'ok  '} {name}: {shown}"
                  + "".join(f"\n     - {p}" for p in found))

    print(f"{len(pages) - failures} passed, {failures} failed")
    sys.exit(1 if failures or not pages else 0)


if __name__ == "__main__":
    main()
