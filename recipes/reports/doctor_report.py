"""`write_doctor_report`: the HTML page of a `kerasforge doctor` session."""

import html
from pathlib import Path

import pandas as pd

from kerasforge.recipes.reports.html_report import REPORT_NAME, _page, _table, finding_html


def _summary_row(item: dict) -> dict:
    applied = item.get("applied") or {}
    row = {
        "round": item["round"],
        "fix applied": applied.get("fix", "(the run as given)"),
        "for": applied.get("kind", ""),
        "val_loss": item["val_loss"],
    }
    row.update({f"test_{key}": value for key, value in item["test"].items()})
    row["improved"] = {True: "yes", False: "NO"}.get(item.get("improved"), "")
    row["finding gone"] = {True: "yes", False: "no"}.get(item.get("finding_gone"), "")
    row["top cause"] = item["diagnosis"]["top_cause"] or "healthy"
    return row


def doctor_page(document: dict) -> str:
    """The HTML of a doctor session from its `doctor.json` document."""
    best = document["best_round"]
    verdict = (
        f"Best: round {best}, with <code class='fix'>{html.escape(document['best_fix'])}</code>."
        if best
        else "No fix improved the validation loss of the run as given."
    )
    body = [
        "<h2>Rounds</h2>",
        "<p>Each round applies the fix of the previous round's top cause and retrains with the same "
        "seed on the same split; the doctor stops when a round does not lower the validation loss.</p>",
        _table(pd.DataFrame([_summary_row(item) for item in document["rounds"]])),
        f"<p>{verdict}</p>",
    ]
    for item in document["rounds"]:
        link = f"{item['run_dir']}/{REPORT_NAME}"
        body.append(f'<h2>Round {item["round"]} (<a href="{html.escape(link)}">run report</a>)</h2>')
        findings = item["diagnosis"]["findings"]
        body.append(
            "".join(finding_html(finding) for finding in findings)
            or '<div class="healthy"><b>Healthy run:</b> no diagnosis rule fired.</div>'
        )
    return _page(f"kerasforge doctor: {document['recipe']}", body)


def write_doctor_report(folder: str | Path, document: dict) -> Path:
    """Writes the doctor session's `report.html` into its folder and returns the path.

    Args:
        folder: The doctor folder.
        document: Its `doctor.json` content (see `DoctorReport.to_dict`).

    Returns:
        The path of the report.

    Example:

    ```python
    write_doctor_report(path, json.loads((path / "doctor.json").read_text()))
    ```
    """
    path = Path(folder) / REPORT_NAME
    path.write_text(doctor_page(document), encoding="utf-8")
    return path
