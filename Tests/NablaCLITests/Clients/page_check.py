"""Loads the page of a running `nabla serve` in headless Chromium, draws on its canvas with
synthetic mouse events and waits for a prediction to appear.

Usage: page_check.py PORT SCREENSHOT.png [SHAPE]   (SHAPE: "one" (default) or "trousers")
Needs the Python playwright package and a Chromium (Debian's /usr/bin/chromium); prints JSON.
"""
import json
import sys

from playwright.sync_api import sync_playwright

port, screenshot = sys.argv[1], sys.argv[2]
shape = sys.argv[3] if len(sys.argv) > 3 else "one"
strokes = {
    # A stroke is a list of canvas points (the canvas is 280 x 280).
    "one": [[(140, 40), (140, 240)]],
    "trousers": [[(95, 40), (185, 40)], [(105, 45), (95, 245)], [(175, 45), (185, 245)],
                 [(115, 45), (110, 245)], [(165, 45), (170, 245)], [(120, 50), (160, 50)]],
}[shape]

with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
    page = browser.new_page(viewport={"width": 820, "height": 520})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"http://127.0.0.1:{port}/")
    page.wait_for_selector("body[data-ready=true]", timeout=30000)
    box = page.locator("#canvas").bounding_box()
    for stroke in strokes:
        x0, y0 = stroke[0]
        page.mouse.move(box["x"] + x0, box["y"] + y0)
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=12)
        page.mouse.up()
    page.wait_for_function("document.getElementById('predictions').dataset.top !== ''", timeout=30000)
    page.wait_for_timeout(300)  # the last stroke's answer
    rows = page.locator("#predictions .row").all_inner_texts()
    top = page.locator("#predictions").get_attribute("data-top")
    status = page.locator("#status").inner_text()
    page.screenshot(path=screenshot)
    browser.close()
print(json.dumps({"top": top, "rows": rows, "status": status, "errors": errors}))
