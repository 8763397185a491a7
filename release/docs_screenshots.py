"""Screenshots of the built documentation site, taken in a headless browser.

How to run (from the project root, with the `docs` and `test` extras and
Debian's `chromium`):

    mkdocs build --strict                      # writes site/
    python release/docs_screenshots.py         # docs/images/site_guide.png, site_api.png

1. Serves the built site (`--site`, default `site/`) on a free loopback port
   (the pages use directory URLs, which a `file://` address does not serve).
2. Opens each page (`--pages`: a guide and an API page by default) in
   headless Chromium at 1280x900, waits until the page has loaded, and
   fails if the browser asked any other host for anything (the site must
   work offline).
3. Writes one PNG per page to `--output` (default `docs/images/`),
   atomically.
"""

import argparse
import functools
import http.server
import os
import shutil
import sys
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = {"site_guide.png": "guides/deblur/", "site_api.png": "api/models/"}
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", default=os.path.join(ROOT, "site"), help="the built site")
    parser.add_argument("--output", default=os.path.join(ROOT, "docs", "images"))
    parser.add_argument("--pages", nargs="+", default=None, metavar="FILE=PATH",
                        help="e.g. site_guide.png=guides/deblur/ (default: a guide and an "
                             "API page)")  # fmt: skip
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=900)
    return parser


def _fail(message):
    print(f"docs_screenshots: error: {message}", file=sys.stderr)
    sys.exit(1)


def browser_path():
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def serve(folder):
    """A loopback HTTP server of `folder` in a daemon thread; returns `(server, base_url)`."""
    handler = functools.partial(_QuietHandler, directory=folder)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def take(pages, site, output, width=1280, height=900):
    """Screenshots of `pages` (`{file name: path in the site}`) into `output`; returns the
    paths written. Raises `RuntimeError` when a page asks another host for anything."""
    from playwright.sync_api import sync_playwright

    server, base = serve(site)
    written = []
    try:
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=browser_path(),
                                             args=["--no-sandbox"])  # fmt: skip
            page = browser.new_page(viewport={"width": width, "height": height})
            outside = []
            page.on("request", lambda request: None if request.url.startswith(base)
                    or request.url.startswith("data:") else outside.append(request.url))  # fmt: skip
            for name, path in pages.items():
                response = page.goto(base + path, wait_until="networkidle")
                if response is None or response.status != 200:
                    raise RuntimeError(f"'{path}' is not in the built site '{site}'")
                if outside:
                    raise RuntimeError(f"'{path}' asked other hosts for: {outside}")
                target = os.path.join(output, name)
                partial = target + ".partial.png"
                page.screenshot(path=partial)
                os.replace(partial, target)
                written.append(target)
            browser.close()
    finally:
        server.shutdown()
    return written


def main(argv=None):
    args = build_parser().parse_args(argv)
    if not os.path.isfile(os.path.join(args.site, "index.html")):
        _fail(f"no built site in '{args.site}': run 'mkdocs build --strict' first")
    if browser_path() is None:
        _fail("no Chromium to drive: install Debian's 'chromium' package (apt-get install "
              "chromium)")  # fmt: skip
    pages = PAGES
    if args.pages:
        if not all("=" in item for item in args.pages):
            _fail("--pages: give FILE=PATH, e.g. site_guide.png=guides/deblur/")
        pages = dict(item.split("=", 1) for item in args.pages)
    os.makedirs(args.output, exist_ok=True)
    try:
        written = take(pages, args.site, args.output, args.width, args.height)
    except RuntimeError as error:
        _fail(str(error))
    for path in written:
        print(f"wrote '{os.path.relpath(path)}'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
