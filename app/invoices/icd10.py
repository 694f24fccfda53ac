"""ICD-10-CM as the diagnosis rules need it: which codes exist, which are billable (leaves), and a category's
billable codes. Read from icd10cm.txt, written from simple-icd-10-cm by `python -m app.invoices.icd10`.

The library builds its whole tabular tree (descriptions, notes, ~800,000 objects) when imported: 175 MB of
every server process's resident memory, of which these three questions use a list of names. The file holds
that list in the library's own order, so the answers are the library's (tests/invoices/test_icd10.py)."""

import sys
from pathlib import Path

DATA = Path(__file__).with_name("icd10cm.txt")


def _load(path: Path) -> tuple[list[str], dict[str, tuple[int, int]]]:
    # Each line: a node's name and how many descendants follow it (the library's tree, depth first), and "*"
    # on the node the library finds by that name (a few blocks and categories share one).
    order: list[str] = []
    nodes: dict[str, tuple[int, int]] = {}
    with open(path, encoding="ascii") as fh:
        for i, line in enumerate(fh):
            name, size, *found = line.split()
            order.append(name)
            if found:
                nodes[name] = (i, int(size))
    return order, nodes


_ORDER, _NODES = _load(DATA)


def _node(code: str) -> tuple[int, int]:
    """The library's _add_dot_to_code, then its lookup."""
    if len(code) >= 4 and code[3] != "." and code[:3] + "." + code[3:] in _NODES:
        code = code[:3] + "." + code[3:]
    return _NODES[code]


def is_valid_item(code: str) -> bool:
    return code in _NODES or len(code) >= 4 and code[:3] + "." + code[3:] in _NODES


def is_leaf(code: str) -> bool:
    return _node(code)[1] == 0


def get_descendants(code: str) -> list[str]:
    start, size = _node(code)
    return _ORDER[start + 1:start + 1 + size]


def _write(path: Path) -> None:
    from simple_icd_10_cm import simple_icd_10_cm as lib

    lines: list[str] = []

    def walk(node) -> int:  # noqa: ANN001 - the library's _CodeTree
        at = len(lines)
        lines.append("")
        size = sum(1 + walk(child) for child in node.children)
        lines[at] = f"{node.name} {size}" + (" *" if lib._code_to_node.get(node.name) is node else "")
        return size

    for chapter in lib._chapter_list:
        walk(chapter)
    path.write_text("\n".join(lines) + "\n", encoding="ascii")


if __name__ == "__main__":
    _write(Path(sys.argv[1]) if len(sys.argv) > 1 else DATA)
    print(f"wrote {DATA if len(sys.argv) < 2 else sys.argv[1]}")
