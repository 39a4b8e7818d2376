"""Print the requirements of nerlm and the given extras, one per line, from pyproject.toml.

Used by the Makefile so that dependencies are declared once (in pyproject.toml) and installed
before the extension is built.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tomllib


def main(extras: list[str]) -> None:
    project = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["project"]
    optional = project.get("optional-dependencies", {})
    out: list[str] = list(project.get("dependencies", []))
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for req in optional[extra]:
            m = re.fullmatch(r"nerlm\[([\w,-]+)\]", req.strip())
            if m:
                todo += m.group(1).split(",")
            else:
                out.append(req)
    print("\n".join(dict.fromkeys(out)))


if __name__ == "__main__":
    main(sys.argv[1:])
