"""Regenerate data/demo/ (the built-in demo region's input files and scenario).

Usage: python scripts/make_demo_data.py
"""

from pathlib import Path

from polygeo.demo import write_demo

if __name__ == "__main__":
    target = Path(__file__).resolve().parents[1] / "data" / "demo"
    print(f"wrote {write_demo(target)}")
