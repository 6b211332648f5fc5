"""The names of exported files, as people read them: Chinese, with the class (or district) name
and the export's date in Beijing time, e.g. "云计算1班-考勤表-20261207.pdf" inside the bundle and
"云计算1班-补贴核定-20261207-0930.zip" for the bundle itself.

A name is made safe for every place it goes (a zip entry, a file on disk, a Content-Disposition
header): characters that file systems or shells treat specially and white space become "_" (one
for a run), and the subject is cut to a length that keeps the whole name well under the
255-byte file name limit (Chinese is 3 bytes a character in UTF-8)."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

#: Characters no file name gets: path separators, what Windows refuses, quotes, controls.
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')
_SPACE = re.compile(r"\s+")
#: Characters of the class or district name kept in a file name
SUBJECT_MAX = 40

#: The bundle of each kind of export, as its file is named
KIND_ZH = {"class": "考勤与学时", "subsidy": "补贴核定", "js_filing": "备案材料", "certificates": "培训合格证书",
           "district": "区县汇总"}


def safe(text: str, limit: int = SUBJECT_MAX) -> str:
    """`text` as a piece of a file name: NFC, unsafe characters as "_", at most `limit` characters."""
    t = unicodedata.normalize("NFC", text or "")
    t = re.sub(r"_+", "_", _SPACE.sub("_", _UNSAFE.sub("_", t))).strip("._- ")
    return t[:limit].rstrip("._- ") or "未命名"


@dataclass(frozen=True)
class FileNames:
    """The names of one export's files: "<subject>-<what>-<yyyymmdd>[-<part>].<ext>"."""

    subject: str
    day: date

    @classmethod
    def of(cls, subject: str, day: date) -> FileNames:
        return cls(safe(subject), day)

    def stem(self, what: str) -> str:
        return f"{self.subject}-{safe(what)}-{self.day:%Y%m%d}"

    def __call__(self, what: str, ext: str) -> str:
        return f"{self.stem(what)}.{ext}"


def bundle_name(subject: str, kind: str, at: datetime) -> str:
    """The bundle's file name (without the job number the exports dir keeps in front of it)."""
    return f"{safe(subject)}-{KIND_ZH.get(kind, safe(kind))}-{at:%Y%m%d-%H%M}.zip"
