"""The PDFs' font: Noto Sans SC at its regular weight, made from the variable font that the PyPI
package justmytype-intl-cjk ships (so a fresh machine with only Python has it).

The variable font's default instance is its thinnest weight (wght 100), and a PDF embeds the
default instance: printed, it is too faint for a form. fontTools (an fpdf2 dependency) instances
the regular weight (400) in ~15 s; the result is cached, keyed by the source file and the weight,
in $HOURPROOF_FONT_CACHE, else $XDG_CACHE_HOME/hourproof/fonts (~/.cache/hourproof/fonts), else
the temp dir: the first PDF on a machine pays for it once. It is written to a temp file and moved
into place, so concurrent exports (threads or processes) never read half a font. If it cannot be
made at all, the variable font is used as before (thin, but every glyph is there) and the reason
is logged."""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from pathlib import Path

log = logging.getLogger(__name__)

#: The weight printed: regular (OpenType wght 400)
WEIGHT = 400

_lock = threading.Lock()
_made: dict[int, Path] = {}


def variable_font() -> Path:
    """Noto Sans SC as the package ships it (variable, wght 100-900, default 100)."""
    import justmytype_intl_cjk

    path = Path(justmytype_intl_cjk.__file__).resolve().parent / "fonts" / "ofl" / "notosanssc" / "NotoSansSC[wght].ttf"
    if not path.exists():  # pragma: no cover - a broken install
        raise FileNotFoundError(f"CJK font missing at {path}: reinstall justmytype-intl-cjk")
    return path


def cache_dirs() -> list[Path]:
    """Where an instanced font is kept, in order of preference."""
    out = []
    if os.environ.get("HOURPROOF_FONT_CACHE"):
        out.append(Path(os.environ["HOURPROOF_FONT_CACHE"]))
    xdg = os.environ.get("XDG_CACHE_HOME")
    out.append((Path(xdg) if xdg else Path.home() / ".cache") / "hourproof" / "fonts")
    out.append(Path(tempfile.gettempdir()) / "hourproof-fonts")
    return out


def regular_font(weight: int = WEIGHT) -> Path:
    """A static Noto Sans SC at `weight`, made once and cached; the variable font if that fails."""
    with _lock:
        if weight in _made and _made[weight].exists():
            return _made[weight]
        source = variable_font()
        st = source.stat()
        key = hashlib.sha256(f"{source.name}|{st.st_size}|{int(st.st_mtime)}|{weight}".encode()).hexdigest()[:16]
        name = f"NotoSansSC-wght{weight}-{key}.ttf"
        for d in cache_dirs():
            if (d / name).exists():
                _made[weight] = d / name
                return d / name
        problems = []
        for d in cache_dirs():
            try:
                d.mkdir(parents=True, exist_ok=True)
                path = _instance(source, weight, d / name)
            except Exception as exc:  # noqa: BLE001 - any failure falls back; said in the log
                problems.append(f"{d}: {exc.__class__.__name__}: {exc}")
                continue
            _made[weight] = path
            return path
        log.warning("could not make the regular weight of %s, printing in its default (thin) weight: %s",
                    source.name, "; ".join(problems))
        return source


def _instance(source: Path, weight: int, target: Path) -> Path:
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
    from fontTools.varLib import instancer  # type: ignore[import-untyped]

    log.info("instancing %s at wght %s into %s (once per machine)", source.name, weight, target)
    font = TTFont(str(source))
    static = instancer.instantiateVariableFont(font, {"wght": weight})
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".part", dir=target.parent)
    os.close(fd)
    try:
        static.save(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        font.close()
    return target
