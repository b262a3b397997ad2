"""The front door and its reference: every relative link and anchor resolves, and the README stays short.

Links are read from README.md and docs/*.md outside code (fenced blocks and inline code). A link to
a file must name a file or folder of the repository; an anchor (`#...`) must be the slug of a heading
of the page it points into, by GitHub's rules: lower-case, markup and punctuation dropped, spaces
to '-', a repeated heading numbered `-1`, `-2`, ...
"""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 200

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)
INLINE_CODE = re.compile(r"`+[^`\n]*`+")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.M)
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def prose(text):
    """`text` without fenced code blocks and inline code, where a `[x](y)` is not a link."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def slug(heading):
    """GitHub's anchor for a heading: markup and punctuation dropped, lower case, spaces to '-'.

    >>> slug("CNNs for NLP — an Apache MXNet/Gluon workshop")
    'cnns-for-nlp--an-apache-mxnetgluon-workshop'
    >>> slug("The `crepe` package")
    'the-crepe-package'
    """
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)      # a link keeps its text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").lower()   # HTML tags and code marks go
    text = re.sub(r"[^\w\- ]", "", text)                           # punctuation goes; '_' and '-' stay
    return text.replace(" ", "-")


def anchors(path):
    """Every anchor GitHub makes for the headings of the Markdown file `path`."""
    seen, found = {}, set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(path):
    """The link targets of the Markdown file `path`, outside code, in order."""
    text = prose(path.read_text(encoding="utf-8"))
    return LINK.findall(text) + REFERENCE.findall(text)


def broken_links(path):
    """Sentences naming each relative link or anchor of the Markdown file `path` that does not resolve."""
    broken = []
    for target in links(path):
        if EXTERNAL.match(target):
            continue
        name, _, anchor = target.partition("#")
        where = (path.parent / name).resolve() if name else path
        if not where.exists():
            broken.append(f"{path.name}: {target} names no file")
        elif anchor and (where.suffix != ".md" or anchor not in anchors(where)):
            broken.append(f"{path.name}: {target} names no heading of {where.name}")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_broken_links_none_in_readme_and_docs(page):
    assert broken_links(page) == []


def test_broken_links_finds_a_missing_file(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Page\n\nSee [the guide](guide.md) and [the site](https://example.org/).\n")
    assert broken_links(page) == ["page.md: guide.md names no file"]


def test_broken_links_finds_a_missing_anchor(tmp_path):
    (tmp_path / "guide.md").write_text("# Guide\n\n## Set-up, step by step\n")
    page = tmp_path / "page.md"
    page.write_text("[ok](guide.md#set-up-step-by-step) [gone](guide.md#install) [here](#page)\n\n# Page\n")
    assert broken_links(page) == ["page.md: guide.md#install names no heading of guide.md"]


def test_links_ignores_code(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```\n[a](fenced.md)\n```\n\n`[b](inline.md)` and [c](real.md)\n")
    assert links(page) == ["real.md"]


def test_anchors_numbers_repeated_headings(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Speed\n\n## Speed\n\n### Speed\n")
    assert anchors(page) == {"speed", "speed-1", "speed-2"}


def test_slug_drops_punctuation_and_keeps_hyphens():
    assert slug("Against overfitting: augmentation, and a shorter frame (2026-11-29, later)") == \
        "against-overfitting-augmentation-and-a-shorter-frame-2026-11-29-later"


def test_readme_length_under_the_limit():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines < README_MAX_LINES, f"README.md has {lines} lines; move reference into docs/"


def test_readme_first_screen_has_the_two_commands_and_the_machines():
    first_screen = "\n".join((ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:50])
    assert "make lab" in first_screen and "make test" in first_screen
    assert "| machine | how |" in first_screen and "Apple-silicon Mac" in first_screen
