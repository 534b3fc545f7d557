"""One seeded, consistent universe that the app database and every vendor sandbox serve."""

from .generator import WORLD_END, WORLD_START, World, build_world

__all__ = ["WORLD_END", "WORLD_START", "World", "build_world"]
