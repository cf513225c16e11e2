"""Stage 1, config: a YAML run-config in, a frozen :class:`RunConfig` out.

The only code that sees raw dicts. ``load`` reads the file and puts the sections together;
``yaml`` parses the text safely within bounds; ``fields`` holds the typed readers every section
uses; ``model``, ``contrasts`` and ``atlases`` read their sections (errors name the YAML path);
``specs`` holds the frozen specs every later stage trusts; ``vocabulary`` the names a config may
use (methods, HRF models, design kinds ...); ``formula`` checks design formulas without
evaluating them; ``correction_labels`` names the results of correction entries;
``atlas_registry`` resolves registry atlas names; ``schema`` (with ``schema_types`` and
``schema_entries``) builds the config's JSON Schema.
"""

from __future__ import annotations

from .load import load_config, parse_config
from .specs import RunConfig

__all__ = ["RunConfig", "load_config", "parse_config"]
