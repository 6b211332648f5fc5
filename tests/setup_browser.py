"""Make sure a Chromium for the browser tests is there: Debian's package (`playwright install`
cannot download browsers on our machines) and a CJK font (without one, Chinese renders as empty
boxes in screenshots). Does nothing when both are present; never fails the run by itself - the
browser tests say what is missing."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

CHROMIUM = os.environ.get("HOURPROOF_CHROMIUM", "/usr/bin/chromium")
HERE = Path(__file__).parent
FONT_PACKAGE = "fonts-wqy-microhei"


def _has_cjk_font() -> bool:
    out = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False) if shutil.which("fc-list") else None
    return bool(out and out.stdout.strip())


def main() -> int:
    # Browser tests: everything under tests/e2e/, and test_*browser*.py anywhere else.
    if not (list((HERE / "e2e").glob("test_*.py")) or list(HERE.rglob("test_*browser*.py"))):
        return 0
    missing = []
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        missing.append("chromium")
    if not _has_cjk_font():
        missing.append(FONT_PACKAGE)
    if not missing:
        return 0
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print(f"setup_browser: missing {', '.join(missing)} and cannot apt-get; browser tests will skip", file=sys.stderr)
        return 0
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    print(f"setup_browser: installing {' '.join(missing)} from Debian", file=sys.stderr)
    subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], env=env, check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
