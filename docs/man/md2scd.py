#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Turn a Markdown reference page (docs/configuration.md) into an scdoc man page.

Usage: md2scd.py PAGE.md NAME SECTION "one-line description" > NAME.SECTION.scd

Only the Markdown that page uses is understood: headings, paragraphs, "-" and "1." lists,
``` blocks and pipe tables.  A table whose first column is "key" becomes one entry per key
(the key, its range and default, then its meaning); any other table becomes a list of rows.
The man page is made at build time, so it cannot fall behind the page it comes from.
"""
import re
import sys


def inline(text):
    """Markdown inline markup to scdoc: `code` and **strong** to *bold*, links to their text."""
    out = []
    for i, part in enumerate(re.split(r"(`[^`]*`)", text)):
        if i % 2 == 1:
            out.append("*" + escape(part[1:-1]) + "*")
            continue
        part = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", part)
        pieces = re.split(r"(\*\*[^*]+\*\*)", part)
        for j, p in enumerate(pieces):
            out.append("*" + escape(p[2:-2]) + "*" if j % 2 == 1 else escape(p))
    return "".join(out)


def escape(text):
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_")


def cells(row):
    return [c.strip() for c in row.strip().strip("|").split("|")]


def table(rows, emit):
    head = [c.lower() for c in cells(rows[0])]
    body = [cells(r) for r in rows[2:]]
    if head and head[0] == "key":
        for c in body:
            key, rng, default, meaning = (c + ["", "", "", ""])[:4]
            emit(f"{inline(key)} ({inline(rng)}; default {inline(default)})")
            emit("\t" + inline(meaning))
            emit("")
        return
    for c in body:
        emit("- " + " - ".join(inline(x) for x in c))
    emit("")


def convert(lines, name, section, summary):
    out = [f"{name}({section})", "", "# NAME", "", f"{name} - {summary}", ""]
    emit = out.append
    para, rows, code = [], [], None

    def flush():
        if para:
            emit(" ".join(para))
            emit("")
            para.clear()
        if rows:
            table(rows, emit)
            rows.clear()

    for raw in lines:
        line = raw.rstrip("\n")
        if code is not None:
            if line.startswith("```"):
                emit("```")
                emit("")
                code = None
            else:
                emit(line.replace("\t", "    "))
            continue
        s = line.strip()
        if s.startswith("```"):
            flush()
            emit("```")
            code = []
        elif s.startswith("|"):
            if para:
                flush()
            rows.append(s)
        elif not s:
            flush()
        elif s.startswith("#"):
            flush()
            level = len(s) - len(s.lstrip("#"))
            title = s.lstrip("#").strip().replace("`", "")
            if level == 1:
                emit("# DESCRIPTION")
                emit("")
            else:
                emit("#" * (level - 1) + " " + title.upper() if level == 2 else "## " + title)
                emit("")
        elif re.match(r"^(- |\d+\. )", s):
            flush()
            bullet = "-" if s.startswith("- ") else "."
            para.append(bullet + " " + inline(re.sub(r"^(- |\d+\. )", "", s)))
        else:
            if rows:
                flush()
            if para and (para[-1].startswith("- ") or para[-1].startswith(". ")) is False:
                para.append(inline(s))
            elif para:
                para[-1] += " " + inline(s)
            else:
                para.append(inline(s))
    flush()
    # Consecutive list items were kept as paragraphs of their own; scdoc wants them adjacent.
    text = "\n".join(out)
    text = re.sub(r"\n\n(?=[-.] )", "\n", text)
    return text.rstrip("\n") + "\n"


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        sys.stdout.write(convert(f.readlines(), sys.argv[2], sys.argv[3], sys.argv[4]))


if __name__ == "__main__":
    main()
