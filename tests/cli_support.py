"""Running the installed `careerbot` command in a process of its own, as an operator would."""

import os
import subprocess
import sys
from pathlib import Path

CAREERBOT = Path(sys.executable).with_name("careerbot")

# Where the content lives is the one setting a test run may choose (as the in-process tests
# do through Settings); every other setting a test passes explicitly.
PASSED_THROUGH = ("CONTENT_DIR", "DIALOGS_DIR")


def clean_env(home: Path, **settings: str) -> dict[str, str]:
    """An environment without the developer's settings (no BOT_TOKEN, no DATABASE_URL…)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8"}
    env.update({name: os.environ[name] for name in PASSED_THROUGH if os.environ.get(name)})
    env.update(settings)
    return env


def run_careerbot(
    *args: str, cwd: Path, env: dict[str, str], stdin: str = "", timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Runs `careerbot ARGS…` in `cwd` (so no `.env` of the checkout is read)."""
    return subprocess.run(
        [str(CAREERBOT), *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )
