"""The browser harness itself: a page, its session cookie, a CSV download and a screenshot,
as the web dashboard will need them, against a tiny aiohttp app over plain http."""

import struct
from pathlib import Path

from aiohttp import web
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from tests.browser_support import screenshot, served, wait, wait_for_download

TITLE = "Smoke page"
SESSION = "s3ss10n-token"
# Quotes, a comma in a field and a non-ASCII letter: the bytes must arrive untouched.
CSV = 'name,career\r\n"Zoë, Jr.",music-producer\r\n'.encode()
PAGE = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{TITLE}</title></head>
<body><h1>Export</h1><a id="export" href="/export.csv">Download CSV</a></body></html>"""

sessions_seen = web.AppKey("sessions_seen", list[str | None])


def smoke_app() -> web.Application:
    async def page(request: web.Request) -> web.Response:
        response = web.Response(text=PAGE, content_type="text/html")
        response.set_cookie("session", SESSION, httponly=True, secure=True, samesite="Lax")
        return response

    async def export(request: web.Request) -> web.Response:
        seen = request.cookies.get("session")
        request.app[sessions_seen].append(seen)
        # As the dashboard will: no session, no export.
        if seen != SESSION:
            raise web.HTTPForbidden()
        return web.Response(
            body=CSV,
            content_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="export.csv"'},
        )

    app = web.Application()
    app[sessions_seen] = []
    app.router.add_get("/", page)
    app.router.add_get("/export.csv", export)
    return app


def test_download_sends_the_secure_httponly_cookie_over_http(
    browser: WebDriver, downloads: Path
) -> None:
    app = smoke_app()
    with served(app) as url:
        assert url.startswith("http://127.0.0.1:")
        browser.get(f"{url}/")
        wait(browser).until(ec.title_is(TITLE))

        cookie = browser.get_cookie("session")
        assert cookie is not None, "Chromium dropped the Secure cookie on http://127.0.0.1"
        assert cookie["value"] == SESSION
        assert (cookie["secure"], cookie["httpOnly"], cookie["sameSite"]) == (True, True, "Lax")
        assert "session" not in browser.execute_script("return document.cookie")

        wait(browser).until(ec.element_to_be_clickable((By.ID, "export"))).click()
        saved = wait_for_download(downloads, "export.csv")

    assert saved.read_bytes() == CSV
    assert app[sessions_seen] == [SESSION]


def test_screenshot_saves_a_png_of_the_window(browser: WebDriver, tmp_path: Path) -> None:
    with served(smoke_app()) as url:
        browser.get(f"{url}/")
        wait(browser).until(ec.visibility_of_element_located((By.ID, "export")))
        path = screenshot(browser, tmp_path / "shots" / "page.png")

    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", data[16:24])
    assert width == 1280
    assert 0 < height <= 900
