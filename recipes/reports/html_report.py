"""`write_report`: one self-contained HTML page describing and diagnosing a run."""

import base64
import html
from pathlib import Path

import pandas as pd

from kerasforge.errors import RunDirError
from kerasforge.recipes.diagnosis.registry import CONSEQUENCE, kinds
from kerasforge.recipes.reports.plots import (
    plot_gradient_heatmap,
    plot_learning_rate,
    plot_unit_fractions,
    save_figure,
)
from kerasforge.recipes.reports.run_record import REQUIRED_FILES, RunRecord, check_run_folder
from kerasforge.recipes.reports.seed_statistics import baseline_verdicts, headline_metrics, mean_std_table
from kerasforge.recipes.schema.loading import recipe_to_yaml
from kerasforge.vocabulary import log_keys

REPORT_NAME = "report.html"
# What `compare --seeds N` writes beside comparison.csv.
SEEDS_FILE = "seeds.csv"
CLAIMS_FILE = "claims.csv"

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9em; }
td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f3f3f3; } td:first-child { text-align: left; }
pre { background: #f7f7f7; padding: 0.8em; font-size: 0.85em; overflow-x: auto; }
.finding { border-left: 5px solid #d9534f; padding: 0.3em 1em; margin: 0.8em 0; background: #fdf3f2; }
.consequence { border-left-color: #f0ad4e; background: #fdf8f0; margin-left: 2em; }
.healthy { border-left: 5px solid #5cb85c; padding: 0.3em 1em; background: #f1f9f1; }
code.fix { background: #222; color: #eee; padding: 2px 6px; display: inline-block; }
img { max-width: 100%; margin: 0.5em 0; }
.scroll { overflow-x: auto; }
"""


def _image(png: bytes, alt: str) -> str:
    encoded = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def _figure(figure, alt: str) -> str:
    return "" if figure is None else _image(save_figure(figure), alt)


def _plots_in(folder: Path, skip: tuple = ()) -> str:
    paths = [path for path in sorted(folder.glob("plots/*.png")) if path.stem not in skip]
    return "".join(_image(path.read_bytes(), path.stem) for path in paths)


def _table(frame: pd.DataFrame) -> str:
    table = frame.to_html(index=False, float_format=lambda value: f"{value:.4g}", na_rep="")
    return f'<div class="scroll">{table}</div>'


def finding_html(finding: dict) -> str:
    """One finding (a `Finding.to_dict()`) as an HTML box: a cause with its fix, or a consequence."""
    title = f"<b>{html.escape(finding['title'])}</b> <small>({finding['kind']})</small>"
    evidence = f"Evidence: {html.escape(finding['evidence'])}"
    if finding.get("role") == CONSEQUENCE:
        return (
            f'<div class="finding consequence">{title} <small>consequence of '
            f"{html.escape(str(finding['caused_by']))}</small><br>{evidence}</div>"
        )
    fix = html.escape(finding["fix"] or "no recipe change applies")
    return f'<div class="finding">{title}<br>{evidence}<br>Try: <code class="fix">{fix}</code></div>'


def findings_html(findings: list, history: pd.DataFrame) -> str:
    """The diagnosis as HTML: each cause with its fix, its consequences under it; or a healthy summary."""
    if not findings:
        loss = history["loss"] if "loss" in history else None
        summary = ""
        if loss is not None and len(loss):
            summary = (
                f" Train loss went from {loss.iloc[0]:.4g} to {loss.iloc[-1]:.4g} in {len(loss)} epochs."
            )
        return (
            f'<div class="healthy"><b>Healthy run:</b> no diagnosis rule fired '
            f"({html.escape(', '.join(kinds()))}).{html.escape(summary)}</div>"
        )
    return "".join(finding_html(finding.to_dict()) for finding in findings)


def _constant_rate(history: pd.DataFrame) -> str:
    if log_keys.LEARNING_RATE not in history:
        return "<p>Not logged.</p>"
    return f"<p>Constant at {history[log_keys.LEARNING_RATE].iloc[0]:.4g} for all {len(history)} epochs.</p>"


def _page(title: str, body: list[str]) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{''.join(body)}</body></html>\n"
    )


def _run_page(record: RunRecord) -> str:
    history = record.history
    test = record.metrics.get("test", {})
    facts = {key: value for key, value in record.metrics.items() if key != "test"}
    body = [
        f"<p>{html.escape(record.recipe.description)}</p>",
        "<h2>Diagnosis</h2>",
        findings_html(record.findings(), history),
        "<h2>Test metrics</h2>",
        _table(pd.DataFrame([test])) if test else "<p>No test split.</p>",
        f"<p>{html.escape(', '.join(f'{key}: {value}' for key, value in facts.items()))}</p>",
        "<h2>Loss and metric curves</h2>",
        _plots_in(record.path, skip=(log_keys.LEARNING_RATE,)),
        "<h2>Per-layer gradient norms</h2>",
        _figure(plot_gradient_heatmap(history, record.recipe.name), "gradient norm heatmap")
        or "<p>No gradient norms were logged (callbacks.gradient_monitor.enabled is false).</p>",
        "<h2>Learning rate</h2>",
        _figure(plot_learning_rate(history), "learning rate") or _constant_rate(history),
        "<h2>Dead and saturated units</h2>",
        _figure(plot_unit_fractions(history), "unit fractions")
        or "<p>Not logged (callbacks.activation_monitor.enabled is false).</p>",
    ]
    if record.events:
        body += ["<h2>Monitor events</h2>", _table(pd.DataFrame(record.events))]
    body += ["<h2>Resolved recipe</h2>", f"<pre>{html.escape(recipe_to_yaml(record.recipe))}</pre>"]
    return _page(f"kerasforge report: {record.recipe.name}", body)


def _claims_html(folder: Path) -> str:
    path = folder / CLAIMS_FILE
    if not path.is_file():
        return ""
    claims = pd.read_csv(path, keep_default_na=False)
    items = []
    for row in claims.itertuples():
        status = "held" if str(row.held) == "True" else "did not hold"
        why = f" <small>{html.escape(str(row.why))}</small>" if row.why else ""
        items.append(
            f'<div class="{"healthy" if status == "held" else "finding"}"><b>{html.escape(row.claim)}: '
            f"{status}.</b> {html.escape(row.verdict)}.{why}</div>"
        )
    return (
        "<h2>Claims</h2><p>Each claim holds when the paired 95% interval of the gain lies above 0.</p>"
        + "".join(items)
    )


def _seeds_page(folder: Path) -> str:
    """The page of a comparison over several seeds: what holds, means with intervals, curves, diagnosis."""
    summary = pd.read_csv(folder / "comparison.csv")
    per_seed = pd.read_csv(folder / SEEDS_FILE)
    seeds = sorted(per_seed["seed"].unique())
    baseline = str(summary["baseline"].iloc[0])
    claimed = pd.read_csv(folder / CLAIMS_FILE)["metric"].tolist() if (folder / CLAIMS_FILE).is_file() else []
    metrics = headline_metrics(per_seed, claimed)
    sentences = "".join(
        f"<li>{html.escape(line)}</li>" for line in baseline_verdicts(per_seed, baseline, metrics)
    )
    body = [
        _claims_html(folder),
        f"<h2>Against the baseline, `{html.escape(baseline)}`</h2>",
        "<p>Paired over the seeds: mean gain ± half its 95% interval; a difference is named only "
        f"when that interval excludes 0.</p><ul>{sentences}</ul>",
    ]
    body += [
        f"<h2>Mean ± std over {len(seeds)} seeds</h2>",
        _table(mean_std_table(summary)),
        "<h2>Means, 95% intervals and paired differences</h2>",
        _table(summary),
        "<h2>Curves</h2>",
        _plots_in(folder),
        "<h2>Diagnosis per variant</h2>",
    ]
    for variant in dict.fromkeys(per_seed["variant"]):
        rows = per_seed[per_seed["variant"] == variant]
        counts = pd.Series(" ".join(rows["findings"].astype(str)).split()).value_counts()
        found = ", ".join(f"{kind} in {count} of {len(rows)} seeds" for kind, count in counts.items())
        links = " ".join(
            f'<a href="seed_{seed}/{html.escape(str(variant))}/{REPORT_NAME}">seed {seed}</a>'
            for seed in rows["seed"]
        )
        body.append(f"<h3>{html.escape(str(variant))}</h3><p>{html.escape(found)}. Reports: {links}</p>")
    return _page(f"kerasforge comparison: {folder.name} ({len(seeds)} seeds)", body)


def _comparison_page(folder: Path) -> str:
    try:
        table = pd.read_csv(folder / "comparison.csv")
    except (ValueError, UnicodeDecodeError) as error:
        message = " ".join(str(error).split())
        raise RunDirError(
            f"cannot read {str(folder)!r}: comparison.csv is not a CSV table ({message})"
        ) from None
    if "variant" not in table.columns or table.empty:
        raise RunDirError(
            f"cannot read {str(folder)!r}: comparison.csv is damaged: it needs a `variant` column and rows"
        )
    body = [
        _claims_html(folder),
        "<h2>Comparison</h2>",
        _table(table),
        "<h2>Curves</h2>",
        _plots_in(folder),
        "<h2>Diagnosis per variant</h2>",
    ]
    names = []
    for variant in table["variant"]:
        record = RunRecord.read(folder / str(variant))
        names.append(record.recipe.name)
        link = f'<a href="{html.escape(str(variant))}/{REPORT_NAME}">full report</a>'
        body += [
            f"<h3>{html.escape(str(variant))} ({link})</h3>",
            findings_html(record.findings(), record.history),
        ]
    # Named after the recipe, not the folder: `compare` writes this page before the folder gets its name.
    return _page(f"kerasforge comparison: {names[0] if names else folder.name}", body)


def write_report(run_dir: str | Path) -> Path:
    """Writes `report.html` into a run folder (or a comparison folder) and returns its path.

    The page embeds its images (base64 PNG), so it can be mailed or opened
    from anywhere. A run's page shows the diagnosis (see `diagnose`), the test
    metrics, the loss and metric curves, per-layer gradient norms as a
    heatmap, the learning rate, dead and saturated unit fractions, the
    monitors' events and the resolved recipe. A comparison's page (a folder
    written by `compare`) shows the table, the overlaid curves and each
    variant's diagnosis.

    Args:
        run_dir: A folder written by `train` or `compare`.

    Returns:
        The path of the report.

    Raises:
        RunDirError: if the folder is missing, a file, incomplete or damaged.

    Example:

    ```python
    run = train(load_recipe("digits_mlp", ["training.epochs=3"]), verbose=0)
    write_report(run.run_dir)
    ```
    """
    folder = check_run_folder(run_dir)
    if (folder / SEEDS_FILE).is_file():
        page = _seeds_page(folder)
    elif (folder / "comparison.csv").is_file():
        page = _comparison_page(folder)
    elif any((folder / name).exists() for name in REQUIRED_FILES):
        page = _run_page(RunRecord.read(folder))
    else:
        raise RunDirError(
            f"{str(folder)!r} is neither a run folder (recipe.yaml, history.csv, metrics.json) "
            "nor a finished comparison (comparison.csv)"
        )
    path = folder / REPORT_NAME
    path.write_text(page, encoding="utf-8")
    return path
