"""Bounded safe YAML: the only place a config's text is parsed.

PyYAML's safe loader (no Python objects, no code), with YAML 1.2 floats (``1e-3`` is a
number) and bounds checked before any value is built: the text's length, the nesting depth
and the number of nodes once aliases are expanded (an "alias bomb" fails at once).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from ..errors import ConfigError
from .fields import short

#: Largest config file read (bytes); checked before parsing.
MAX_CONFIG_BYTES = 1 << 20
#: Most YAML nodes once aliases are expanded (an "alias bomb" is refused before it is built).
MAX_YAML_NODES = 1_000_000
#: Deepest nesting of YAML lists and mappings.
MAX_YAML_DEPTH = 50


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 floats and a nesting bound.

    Floats without a dot (``1e-3``, ``1E+2``), numbers in YAML 1.2, are numbers rather than
    text; documents nested deeper than :data:`MAX_YAML_DEPTH` are refused while composing.
    """

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise ConfigError(
                    f"the YAML is nested more than {MAX_YAML_DEPTH} levels deep; a run-config "
                    "needs a few"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def load_yaml(text: str) -> Any:
    """Parse YAML safely within the config bounds.

    The text must be at most :data:`MAX_CONFIG_BYTES` long, and the document at most
    :data:`MAX_YAML_NODES` nodes once its aliases are expanded; both are checked before any
    value is built, so an alias bomb fails at once.

    Raises
    ------
    ConfigError
        Too long, not valid YAML (with line and column), too many nodes, or nested too deeply.
    """
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"the config has {len(text):,} characters; at most {MAX_CONFIG_BYTES:,} are read"
        )
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _count_nodes(node)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"the file is not valid YAML{where}: {short(problem, 200)}") from None
    except ConfigError:
        raise
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        problem = "an integer of more than 4300 digits" if "digits" in str(exc) else str(exc)
        raise ConfigError(
            f"the YAML holds a value that cannot be read: {short(problem, 200)}"
        ) from None
    finally:
        loader.dispose()


def _count_nodes(root: yaml.Node) -> int:
    """Number of nodes of the document with aliases expanded, refusing more than the bound."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    active: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in sizes and not done:
            continue
        children = _children(node)
        if not done:
            if key in active:
                raise ConfigError("the YAML refers to itself through an alias (a cycle)")
            active.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
            continue
        active.discard(key)
        sizes[key] = 1 + sum(sizes[id(child)] for child in children)
        if sizes[key] > MAX_YAML_NODES:
            raise ConfigError(
                f"the YAML expands to more than {MAX_YAML_NODES:,} values (anchors and "
                "aliases repeated within each other); a run-config needs far fewer"
            )
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    """The nodes directly under ``node`` (keys and values of a mapping)."""
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    return []
