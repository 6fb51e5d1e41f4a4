"""The zh-CN wording of the review pages against the terms of the trade (issue 16, item 5): no 警告
(a formal penalty) for the warn step, a reviewer never 立案 by itself (建议立案 / 移送立案), 流动摊贩
names a person (the violation is 流动摊贩经营), 随意倾倒垃圾 not 违规倾倒垃圾, no 候选, minutes are
分钟, no opaque 未立案结案率. Checked in every zh-CN string the pages can show: the zh-CN table of
i18n.js, the text the HTML shows before it loads (which must be the table's), and the literals of
the page scripts."""

from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[1] / "review_ui" / "static"
BANNED = {
    "警告 (use 责令改正 / 整改告知 / 劝离)": re.compile(r"警告"),
    "立案 without 建议 / 移送 (or a negation)": re.compile(r"(?<!建议)(?<!移送)(?<!不予)(?<!未)(?<!没有)(?<!不)立案"),
    "流动摊贩 as a violation (流动摊贩经营)": re.compile(r"流动摊贩(?!经营)"),
    "违规倾倒垃圾 (随意倾倒垃圾)": re.compile(r"违规倾倒垃圾"),
    "候选 (疑似违规 / 事件)": re.compile(r"候选"),
    "分 after a number (分钟)": re.compile(r"\d\s*分(?!钟)"),
    "未立案结案率": re.compile(r"未立案结案率"),
}
PAIR = re.compile(r'(\w+):\s*"((?:[^"\\]|\\.)*)"')
CJK = re.compile(r"[\u4e00-\u9fff]")


def zh_table() -> dict[str, str]:
    src = (STATIC / "i18n.js").read_text(encoding="utf-8")
    return dict(PAIR.findall(src[src.index('"zh-CN": {'):src.index("\n  en: {")]))


def zh_strings() -> list[tuple[str, str]]:
    """(where, text) of every zh-CN string of the pages."""
    out = [(f"i18n.js zh-CN.{k}", v) for k, v in zh_table().items()]
    for f in sorted(STATIC.glob("*.html")):
        for line_no, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            for text in re.findall(r">([^<>]+)<", line) + re.findall(r'(?:title|placeholder|aria-label)="([^"]+)"', line):
                if CJK.search(text):
                    out.append((f"{f.name}:{line_no}", text))
    for f in sorted(STATIC.glob("*.js")):
        if f.name == "i18n.js":
            continue
        for line_no, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            for text in re.findall(r'"((?:[^"\\]|\\.)*)"|`([^`]*)`|\'((?:[^\'\\]|\\.)*)\'', line):
                s = next((t for t in text if t), "")
                if CJK.search(s):
                    out.append((f"{f.name}:{line_no}", s))
    return out


def test_the_zh_cn_pages_use_the_terms_of_the_trade() -> None:
    strings = zh_strings()
    assert len(strings) > 200  # the table was found and read
    bad = [f"{where}: {text!r} has {name}" for where, text in strings for name, rx in BANNED.items() if rx.search(text)]
    assert not bad, "\n".join(bad)


def test_html_text_before_the_script_runs_is_the_zh_cn_table() -> None:
    """The pages are zh-CN as served: what they show before i18n.js runs is the table's wording."""
    table = zh_table()
    wrong = []
    for f in sorted(STATIC.glob("*.html")):
        for key, text in re.findall(r'data-i18n="(\w+)"[^>]*>([^<]+)<', f.read_text(encoding="utf-8")):
            if key not in table:
                wrong.append(f"{f.name}: data-i18n={key} has no zh-CN entry")
            elif text.strip() and text != table[key]:
                wrong.append(f"{f.name}: data-i18n={key} shows {text!r}, the table says {table[key]!r}")
    assert not wrong, "\n".join(wrong)


def test_the_banned_terms_are_caught() -> None:
    """The patterns themselves: each flags the old wording and lets the right one through."""
    def flagged(text: str) -> bool:
        return any(rx.search(text) for rx in BANNED.values())
    for old in ("警告", "立案", "流动摊贩", "违规倾倒垃圾", "候选", "10 分", "未立案结案率"):
        assert flagged(old), old
    for good in ("责令改正", "建议立案", "移送立案", "撤销告知（不予立案）", "流动摊贩经营", "随意倾倒垃圾", "疑似违规事件",
                 "10 分钟", "未立案办结率"):
        assert not flagged(good), good
