import pathlib
import sys

# The examples are scripts, not a package: make them importable as top-level modules.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
