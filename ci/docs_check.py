"""Check that the built documentation site renders: run after the HTML build.

    python -m sphinx -W --keep-going -n -b html docs docs/_build/html
    python ci/docs_check.py [--html docs/_build/html] [--out docs/_build/screenshots]

Opens the index page and one gallery page in headless Chromium (Debian's `chromium`, or
$CHROMIUM), takes a screenshot of each and checks that it is not blank (the pixels vary),
and that each HTML file has its page title and the theme's navigation bar. Exits 1 with a
message saying what is wrong.
"""

import argparse
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser

# A blank or single-colour page has a standard deviation near 0; a rendered page with text,
# a navigation bar and pictures is far above it (on a 0-1 scale per channel).
MIN_PIXEL_STD = 0.02
NAVBAR_CLASSES = ("bd-header", "navbar")


class PageFacts(HTMLParser):
    """The <title> text and whether a navigation bar (the pydata theme's header <nav>) and
    links inside it are present."""

    def __init__(self):
        super().__init__()
        self.title = ""
        self._in_title = False
        self._nav_depth = 0
        self.has_navbar = False
        self.nav_links = 0

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag == "title":
            self._in_title = True
        if tag in ("nav", "header") and any(c in classes for c in NAVBAR_CLASSES):
            self.has_navbar = True
            self._nav_depth += 1
        elif self._nav_depth and tag in ("nav", "header"):
            self._nav_depth += 1
        if tag == "a" and self._nav_depth:
            self.nav_links += 1

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        if tag in ("nav", "header") and self._nav_depth:
            self._nav_depth -= 1

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def find_chromium():
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def screenshot(chromium, page, png):
    """Render file://page at 1280x900 into png; return an error message or None."""
    if os.path.exists(png):
        os.remove(png)
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
               "--hide-scrollbars", "--window-size=1280,900", f"--screenshot={png}",
               "file://" + os.path.abspath(page)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return f"chromium did not finish rendering {page} within 120 s"
    if not os.path.exists(png):
        return f"chromium wrote no screenshot of {page} (exit {done.returncode}): " \
               f"{done.stderr.strip()[-500:]}"
    return None


def pixel_std(png):
    import matplotlib.image

    pixels = matplotlib.image.imread(png)[..., :3].astype(float)
    if pixels.max() > 1:  # 8-bit
        pixels /= 255.0
    return float(pixels.std())


def check_page(chromium, page, png, expected_title):
    """The problems found with one page (an empty list when it renders)."""
    if not os.path.exists(page):
        return [f"{page} does not exist: build the site first"]
    problems = []
    facts = PageFacts()
    with open(page, encoding="utf-8") as f:
        facts.feed(f.read())
    title = " ".join(facts.title.split())
    if expected_title not in title:
        problems.append(f"{page}: the title {title!r} does not contain {expected_title!r}")
    if not facts.has_navbar:
        problems.append(f"{page}: no navigation bar (<nav> or <header> of class "
                        f"{' or '.join(NAVBAR_CLASSES)})")
    elif facts.nav_links == 0:
        problems.append(f"{page}: the navigation bar has no links")
    error = screenshot(chromium, page, png)
    if error:
        problems.append(error)
    else:
        std = pixel_std(png)
        if std < MIN_PIXEL_STD:
            problems.append(f"{png}: the screenshot of {page} is blank (pixel standard "
                            f"deviation {std:.4f} < {MIN_PIXEL_STD})")
        else:
            print(f"ok: {page}: title {title!r}, navigation bar with {facts.nav_links} "
                  f"links, screenshot {png} (pixel std {std:.3f})")
    return problems


def gallery_page(html):
    """The gallery's first example page, else its index."""
    gallery = os.path.join(html, "auto_examples")
    examples = sorted(f for f in os.listdir(gallery) if f.endswith(".html")
                      and f not in ("index.html", "sg_execution_times.html")) \
        if os.path.isdir(gallery) else []
    return os.path.join(gallery, examples[0] if examples else "index.html")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", default=os.path.join("docs", "_build", "html"))
    parser.add_argument("--out", default=os.path.join("docs", "_build", "screenshots"))
    args = parser.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        print("docs_check: no chromium found (apt-get install chromium, or set $CHROMIUM)",
              file=sys.stderr)
        return 1
    os.makedirs(args.out, exist_ok=True)
    pages = [(os.path.join(args.html, "index.html"), "nmfkit"), (gallery_page(args.html), "nmfkit")]
    problems = []
    for page, title in pages:
        name = os.path.splitext(os.path.basename(page))[0]
        png = os.path.join(args.out, f"{os.path.basename(os.path.dirname(page))}_{name}.png")
        problems += check_page(chromium, page, png, title)
    for problem in problems:
        print(f"docs_check: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
