"""Make sure a Chromium for the browser tests is there (Debian's package: `playwright install`
cannot download browsers on our machines). Does nothing when there are no browser tests yet or
chromium is already installed; never fails the run by itself - the browser tests say what is missing."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

CHROMIUM = os.environ.get("HOURPROOF_CHROMIUM", "/usr/bin/chromium")


def main() -> int:
    if not any(Path(__file__).parent.glob("e2e/test_*.py")):
        return 0
    if Path(CHROMIUM).exists() or shutil.which("chromium"):
        return 0
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print("setup_browser: chromium missing and cannot apt-get it; browser tests will skip", file=sys.stderr)
        return 0
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], env=env, check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
