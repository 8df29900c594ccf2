"""`careerbot dashboard --port N`: the dashboard served alone, in a process of its own, as a
program using polling (or someone trying it locally) runs it."""

import signal
from pathlib import Path

import aiohttp

from tests.cli_support import Careerbot, clean_env, http_ok
from tests.outage_support import free_port


async def test_careerbot_dashboard_serves_the_pages_and_stops_on_a_signal(
    tmp_path: Path,
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}/dashboard"
    env = clean_env(tmp_path, DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    command = Careerbot("dashboard", "--port", str(port), cwd=tmp_path, env=env)
    async with command, aiohttp.ClientSession() as http:
        await command.wait_until(lambda: http_ok(http, f"{base}/static/dashboard.css"), "serving")
        async with http.get(f"{base}/", allow_redirects=False) as page:
            assert page.status == 401  # no session: the signed-out page
            assert "Content-Security-Policy" in page.headers
            assert "/dashboard" in await page.text()  # how to get a link
        async with http.get(f"{base}/login?token=forged.1.2.3") as refused:
            assert refused.status == 403
        assert await command.stop(signal.SIGINT) == 0
    output = command.output()
    # The public URL to give the bot, and no token in the access log.
    assert f"DASHBOARD_URL={base}" in output
    assert "GET /dashboard/login " in output and "forged" not in output
