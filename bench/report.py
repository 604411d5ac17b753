"""The results: one row per figure, printed as a table and written as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Row:
    """One measured figure."""

    key: str  # "1a", "3b"...
    name: str
    value: float | None
    unit: str
    target: str = ""
    met: bool | None = None  # None: no target, or not measurable
    ratio: float | None = None  # value / relay ceiling (throughput figures)
    note: str = ""


@dataclass
class Results:
    """Everything a run found, with where and how it ran."""

    machine: dict[str, Any] = field(default_factory=dict)
    run: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    profiles: dict[str, Any] = field(default_factory=dict)
    cpu: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    relay_per_s: float | None = None
    publish_per_s: float | None = None

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def ratio(self, value: float | None) -> float | None:
        if value is None or not self.relay_per_s:
            return None
        return value / self.relay_per_s

    def to_json(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "run": self.run,
            "relay_ceiling_per_s": self.relay_per_s,
            "confirm_publish_per_s": self.publish_per_s,
            "rows": [asdict(row) for row in self.rows],
            "cpu": self.cpu,
            "profiles": self.profiles,
            "notes": self.notes,
        }

    def write_json(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n")


def _value(row: Row) -> str:
    if row.value is None:
        return "n/a"
    if row.unit in ("msg/s", "rows/s", "jobs/s", "req/s"):
        return f"{row.value:,.0f}"
    if abs(row.value) >= 100:
        return f"{row.value:,.0f}"
    return f"{row.value:,.2f}"


def _met(row: Row) -> str:
    if row.met is None:
        return ""
    return "yes" if row.met else "NO"


def table(results: Results, *, markdown: bool = False) -> str:
    """The results as an aligned text table (or a Markdown one)."""
    header = ["#", "figure", "value", "unit", "x relay", "target", "met", "note"]
    lines = [
        [
            row.key,
            row.name,
            _value(row),
            row.unit,
            f"{row.ratio:.2f}" if row.ratio is not None else "",
            row.target,
            _met(row),
            row.note,
        ]
        for row in results.rows
    ]
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += [
            "| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |" for line in lines
        ]
        return "\n".join(out)
    widths = [max([len(header[i]), *(len(line[i]) for line in lines)]) for i in range(len(header))]
    numeric = {2, 4}

    def fmt(cells: list[str]) -> str:
        return "  ".join(
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(header), rule, *(fmt(line) for line in lines)])


def cpu_table(results: Results, components: tuple[str, ...], *, markdown: bool = False) -> str:
    """CPU milliseconds per message by component, one line per measured run."""
    header = ["run", *components, "Herald", "+pg+mq", "machine busy", "CPU-bound rate"]
    lines = []
    for key, usage in results.cpu.items():
        per = usage["cpu_ms_per_message"]
        lines.append(
            [
                key,
                *(f"{per[c]:.2f}" if c in per else "" for c in components),
                f"{usage['herald_ms']:.2f}",
                f"{usage['pipeline_ms']:.2f}",
                f"{usage['machine_busy_pct']:.0f}%",
                f"{usage['cpu_bound_rate']:,}/s",
            ]
        )
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(line) + " |" for line in lines]
        return "\n".join(out)
    widths = [max(len(header[i]), *(len(line[i]) for line in lines)) for i in range(len(header))]
    rows = [header, ["-" * w for w in widths], *lines]
    return "\n".join(
        "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r))
        for r in rows
    )
