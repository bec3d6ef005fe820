"""``python -m wg_bench ...`` is ``wg bench ...`` (where only this member is on the path)."""

from __future__ import annotations

from wg_bench.cli import bench

if __name__ == "__main__":
    bench(prog_name="wg bench")
