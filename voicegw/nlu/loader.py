"""Load and validate menus/*.yaml; every failure names the file, the line and the reason."""

from __future__ import annotations

from pathlib import Path
import yaml
from pydantic import ValidationError

from voicegw.errors import MenuError
from voicegw.nlu.menu import Menu, MenuRefError

Loc = tuple[str | int, ...]


def load_menu(path: str | Path) -> Menu:
    """Read one menu file; raise ``MenuError(code="menu_invalid")`` naming file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise MenuError("menu_not_found", f"{path}: cannot read menu file: {err.strerror}") from err
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise MenuError("menu_invalid", f"{path}:{_yaml_line(err)}: YAML syntax error: {_yaml_reason(err)}") from err
    if not isinstance(data, dict):
        raise MenuError("menu_invalid", f"{path}:1: a menu file must be a mapping (id, language, items, ...)")
    try:
        return Menu.model_validate(data)
    except ValidationError as err:
        raise MenuError("menu_invalid", _describe(path, root, err)) from err


def load_menus(directory: str | Path) -> dict[str, Menu]:
    """Every ``*.yaml`` / ``*.yml`` menu in ``directory`` by menu id; duplicate ids are an error."""
    directory = Path(directory)
    if not directory.is_dir():
        raise MenuError("menu_not_found", f"{directory}: menu directory does not exist")
    menus: dict[str, Menu] = {}
    sources: dict[str, Path] = {}
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        menu = load_menu(path)
        if menu.id in menus:
            raise MenuError(
                "menu_invalid", f"{path}: menu id {menu.id!r} is already used by {sources[menu.id]}"
            )
        menus[menu.id] = menu
        sources[menu.id] = path
    return menus


def _yaml_line(err: yaml.YAMLError) -> int:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    return mark.line + 1 if mark is not None else 1


def _yaml_reason(err: yaml.YAMLError) -> str:
    parts = [getattr(err, "context", None), getattr(err, "problem", None)]
    return ", ".join(p for p in parts if p) or str(err)


def _describe(path: Path, root: yaml.Node | None, err: ValidationError) -> str:
    """One line per pydantic error, first error first: ``file:line: field.path: reason``."""
    lines = []
    for error in err.errors():
        loc: Loc = tuple(error["loc"])
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, MenuRefError):
            loc = (*loc, *cause.loc)
            reason = str(cause)
        else:
            reason = error["msg"]
        where = ".".join(str(part) for part in loc) or "(menu)"
        lines.append(f"{path}:{_line_of(root, loc)}: {where}: {reason}")
    return "; ".join(lines)


def _line_of(node: yaml.Node | None, loc: Loc) -> int:
    """The 1-based line of the deepest YAML node that ``loc`` reaches."""
    if node is None:
        return 1
    line = node.start_mark.line + 1
    for part in loc:
        child = _child(node, part)
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line


def _child(node: yaml.Node, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == str(part):
                return value
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part]
    return None
