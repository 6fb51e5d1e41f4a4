"""The review pages name what streetwarden/vocabulary.py names: the filters' violation list
(common.js) is VIOLATIONS in its order, every violation and zone kind has a zh-CN and an English
name, the zone editor offers every zone kind and draws each in a colour of its own. A new violation
or kind left out of a page fails here."""

from __future__ import annotations

import re
from pathlib import Path

from streetwarden.vocabulary import VIOLATIONS, ZoneKind

STATIC = Path(__file__).resolve().parents[1] / "review_ui" / "static"
PAIR = re.compile(r'(\w+):\s*"((?:[^"\\]|\\.)*)"')
KINDS = [k.value for k in ZoneKind]


def _tables() -> dict[str, dict[str, str]]:
    src = (STATIC / "i18n.js").read_text(encoding="utf-8")
    zh, en = src.index('"zh-CN": {'), src.index("\n  en: {")
    return {"zh-CN": dict(PAIR.findall(src[zh:en])), "en": dict(PAIR.findall(src[en:]))}


def test_common_js_lists_the_vocabulary_violations_in_order() -> None:
    src = (STATIC / "common.js").read_text(encoding="utf-8")
    listed = re.search(r"VIOLATIONS:\s*\[([^\]]*)\]", src)
    assert listed, "common.js has no VIOLATIONS list"
    assert re.findall(r'"(\w+)"', listed.group(1)) == list(VIOLATIONS)


def test_every_violation_and_zone_kind_has_both_names() -> None:
    for lang, table in _tables().items():
        missing = [key for key in (*VIOLATIONS, *KINDS) if not table.get(key)]
        assert not missing, f"i18n.js {lang} has no name for {missing}"


def test_the_zone_editor_offers_and_colours_every_kind() -> None:
    html = (STATIC / "cameras.html").read_text(encoding="utf-8")
    select = html[html.index('<select id="z-kind">'):]
    assert re.findall(r'<option value="(\w+)"', select[:select.index("</select>")]) == KINDS
    css = (STATIC / "style.css").read_text(encoding="utf-8")
    coloured = set(re.findall(r"\.zone\.kind-(\w+) polygon", css))
    # sidewalk zones take the plain `.zone polygon` colour; every other kind has its own
    assert coloured == set(KINDS) - {ZoneKind.sidewalk.value}, coloured
