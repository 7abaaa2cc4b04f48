"""Go: the native rules core with a Python API, coordinates, SGF, and environments."""
from envs.go import _core

__all__ = ["_core"]
