"""Screenshots of the web page at desktop and phone widths, for docs/samples (needs Playwright
and a Chromium: `apt-get install chromium`, `pip install -e ".[dev]"`).

    ltsd run &    python -m ltsd.harness.screenshots --url http://127.0.0.1:9001/ --out docs/samples
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

VIEWPORTS = {"desktop": (1440, 900, 1), "phone": (390, 844, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:9001/")
    parser.add_argument("--out", type=Path, default=Path("docs/samples"))
    parser.add_argument("--settle-s", type=float, default=4.0, help="let the pictures arrive")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        for name, (width, height, scale) in VIEWPORTS.items():
            page = browser.new_page(viewport={"width": width, "height": height},
                                    device_scale_factor=scale)  # fmt: skip
            page.goto(args.url)
            page.locator("#controls fieldset").first.wait_for()
            page.wait_for_timeout(int(args.settle_s * 1000))
            path = args.out / f"page-{name}.png"
            page.screenshot(path=str(path), full_page=True)
            print(f"wrote {path}")
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
