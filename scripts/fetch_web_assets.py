"""Download MathJax, RequireJS and the ipywidgets embed manager for offline pages.

The book's pages load these scripts from CDNs unless local copies exist under
book/_static/vendor/ (see book/_ext/local_assets.py). This script gets pinned
versions from the npm registry with `npm pack` and keeps only the files a page
needs. Run it once before building the book; it does nothing if the copies exist.

    python scripts/fetch_web_assets.py [--force]
"""

import argparse
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "book" / "_static" / "vendor"

# npm package -> (folder under vendor/, files or folders to keep, relative to package/)
PACKAGES = {
    "mathjax@3.2.2": (
        "mathjax",
        ["es5/tex-chtml.js", "es5/input/tex", "es5/output/chtml", "es5/ui",
         "es5/a11y", "es5/sre"],
    ),
    "requirejs@2.3.8": ("requirejs", ["require.js"]),
    "@jupyter-widgets/html-manager@1.0.15": (
        "html-manager",
        ["dist/embed-amd.js", "dist/*.woff", "dist/*.woff2"],
    ),
}


def npm_pack(spec, workdir):
    """Download one npm package tarball into workdir and return its path."""
    name = subprocess.run(
        ["npm", "pack", spec, "--silent", "--pack-destination", str(workdir)],
        check=True, capture_output=True, text=True,
    ).stdout.strip().splitlines()[-1]
    return workdir / name


def keep(package_dir, patterns, dest):
    """Copy the matching files of an unpacked package into dest."""
    for pattern in patterns:
        for src in sorted(package_dir.glob(pattern)):
            rel = src.relative_to(package_dir)
            # The package's top folder (es5/, dist/) is dropped.
            target = dest / Path(*rel.parts[1:]) if len(rel.parts) > 1 else dest / rel
            if src.is_dir():
                shutil.copytree(src, target, dirs_exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, target)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="download again")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for spec, (folder, patterns) in PACKAGES.items():
            dest = VENDOR / folder
            if dest.is_dir() and not args.force:
                print(f"{spec}: already in {dest.relative_to(ROOT)}")
                continue
            shutil.rmtree(dest, ignore_errors=True)
            with tarfile.open(npm_pack(spec, tmp)) as tar:
                tar.extractall(tmp / folder, filter="data")
            keep(tmp / folder / "package", patterns, dest)
            print(f"{spec}: copied into {dest.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
