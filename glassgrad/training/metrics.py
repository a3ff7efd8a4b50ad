"""MetricsLog: one row of numbers per epoch, written as CSV and JSON whenever the
trainer writes a checkpoint (so the two always describe the same epochs).

Both files are rewritten whole (through a temporary file and a rename), so a run
killed mid-write leaves the previous version, and a resumed run continues the
same table.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class MetricsLog:
    """Rows of per-epoch metrics kept in ``out_dir/metrics.csv`` and ``metrics.json``."""

    def __init__(self, out_dir: str | Path) -> None:
        self.out_dir = Path(out_dir)
        self.csv_path = self.out_dir / "metrics.csv"
        self.json_path = self.out_dir / "metrics.json"
        self.rows: list[dict[str, float]] = []

    def load(self, up_to_epoch: int) -> None:
        """Read back the rows of epochs 1..up_to_epoch (to continue a resumed run)."""
        if not self.json_path.exists():
            raise FileNotFoundError(f"MetricsLog.load: no metrics file at {self.json_path} to resume from")
        rows = json.loads(self.json_path.read_text())
        self.rows = [row for row in rows if row["epoch"] <= up_to_epoch]

    def write(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        columns: list[str] = []
        for row in self.rows:
            columns += [k for k in row if k not in columns]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        _write_atomic(self.csv_path, buffer.getvalue())
        # one row per line, each by the C encoder (indent= would take the slow pure-Python one)
        _write_atomic(self.json_path, "[\n" + ",\n".join(json.dumps(row) for row in self.rows) + "\n]\n")
