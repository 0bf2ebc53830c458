"""Scenes: a world and every live parameter, stored in numbered slots and recalled in one message.

They live in a YAML file (`scenes.path`; beside the config file by default), one mapping from slot
number to `{name, model, params}`. It is written atomically — a temporary file, fsync, rename,
fsync of the folder — so a power cut or `kill -9` mid-save leaves the old file or the new one,
never a mix. A damaged or hand-edited file is read entry by entry: each bad entry is one line
naming its slot, and the rest loads.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ltsd.errors import ConfigError, LtsdError, shown
from ltsd.params import PARAMS, ParamStore

log = logging.getLogger(__name__)
MAX_SLOTS = 128
MAX_FILE_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Scene:
    name: str
    model: str
    params: dict[str, Any] = field(default_factory=dict)

    def as_yaml(self) -> dict[str, Any]:
        return {"name": self.name, "model": self.model, "params": dict(self.params)}


def default_path(config_file: Path | None) -> Path:
    """scenes.yaml beside the config file; without one, in ltsd's config folder."""
    if config_file is not None:
        return config_file.resolve().parent / "scenes.yaml"
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "ltsd" / "scenes.yaml"


class SceneBook:
    def __init__(self, path: Path, params: ParamStore) -> None:
        self.path = path
        self.params = params
        self.scenes: dict[int, Scene] = {}

    def load(self) -> list[str]:
        """Read the file again (a missing one is an empty book); returns one line per problem,
        each already logged. The scenes that are sound are kept."""
        problems: list[str] = []
        try:
            raw = self.path.read_bytes()[: MAX_FILE_BYTES + 1]
        except FileNotFoundError:
            self.scenes = {}
            return problems
        except OSError as error:
            problems.append(f"{self.path}: cannot read the scenes ({error.strerror})")
            raw = b""
        try:
            if len(raw) > MAX_FILE_BYTES:
                raise ConfigError("larger than 1 MB")
            document = yaml.safe_load(raw.decode("utf-8")) if raw else {}
        except (yaml.YAMLError, UnicodeDecodeError, ConfigError, RecursionError) as error:
            where = getattr(error, "problem_mark", None)
            at = f" at line {where.line + 1}" if where is not None else ""
            problems.append(f"{self.path}: not a scenes file{at}; no scene loaded")
            document = {}
        if not isinstance(document, dict):
            problems.append(f"{self.path}: expected slot numbers mapped to scenes")
            document = {}
        scenes: dict[int, Scene] = {}
        for slot, entry in document.items():
            try:
                scenes[check_slot(slot)] = self._scene(entry)
            except LtsdError as error:
                problems.append(f"{self.path}: scene {shown(slot)}: {error}")
        self.scenes = dict(sorted(scenes.items()))
        for problem in problems:
            log.error("%s", problem)
        return problems

    def _scene(self, entry: Any) -> Scene:
        if not isinstance(entry, dict):
            raise ConfigError(f"expected name, model and params, got {shown(entry)}")
        unknown = set(entry) - {"name", "model", "params"}
        if unknown:
            raise ConfigError(f"unknown key {shown(sorted(map(str, unknown))[0])}")
        name, model, values = entry.get("name", ""), entry.get("model"), entry.get("params", {})
        if not isinstance(name, str) or len(name) > 64:
            raise ConfigError(f"name: expected text of at most 64 characters, got {shown(name)}")
        if not isinstance(model, str) or not model:
            raise ConfigError(f"model: expected a model name, got {shown(model)}")
        if not isinstance(values, dict):
            raise ConfigError(f"params: expected parameter values, got {shown(values)}")
        params = {}
        for key, value in values.items():
            if key not in PARAMS:
                raise ConfigError(f"params: unknown parameter {shown(key)}")
            params[key] = self.params.checked(key, value)
        return Scene(name, model, params)

    def find(self, key: Any) -> tuple[int, Scene]:
        """The scene in slot `key` (a number) or named `key`."""
        if isinstance(key, str) and not key.strip().isdigit():
            for slot, scene in self.scenes.items():
                if scene.name == key:
                    return slot, scene
            raise LtsdError(f"scenes: no scene named {shown(key)}")
        slot = check_slot(key)
        if slot not in self.scenes:
            raise LtsdError(f"scenes: slot {slot} is empty")
        return slot, self.scenes[slot]

    def slot_of(self, key: Any) -> int:
        """A slot number, or the slot of the scene named `key`."""
        if isinstance(key, str) and not key.strip().isdigit():
            return self.find(key)[0]
        return check_slot(key)

    def free_slot(self) -> int:
        for slot in range(1, MAX_SLOTS + 1):
            if slot not in self.scenes:
                return slot
        raise LtsdError(f"scenes: all {MAX_SLOTS} slots are taken; delete one first")

    def put(self, slot: int, scene: Scene) -> None:
        scenes = dict(self.scenes)
        scenes[slot] = scene
        self._write(scenes)

    def delete(self, slot: int) -> None:
        if slot not in self.scenes:
            raise LtsdError(f"scenes: slot {slot} is empty")
        scenes = dict(self.scenes)
        del scenes[slot]
        self._write(scenes)

    def _write(self, scenes: dict[int, Scene]) -> None:
        document = {slot: scene.as_yaml() for slot, scene in sorted(scenes.items())}
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
        try:
            write_atomically(self.path, text)
        except OSError as error:
            raise LtsdError(f"{self.path}: cannot save the scenes ({error.strerror})") from None
        self.scenes = dict(sorted(scenes.items()))


def check_slot(slot: Any) -> int:
    if isinstance(slot, str) and slot.strip().isdigit():
        slot = int(slot)
    if isinstance(slot, float) and slot.is_integer():
        slot = int(slot)
    if isinstance(slot, bool) or not isinstance(slot, int) or not 1 <= slot <= MAX_SLOTS:
        raise LtsdError(f"scenes: a slot is a number from 1 to {MAX_SLOTS}, not {shown(slot)}")
    return slot


def write_atomically(path: Path, text: str) -> None:
    """The old file or the new one, whatever happens: temporary file, fsync, rename, fsync."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
