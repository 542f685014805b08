"""`Finding`: one problem the diagnosis found in a run, with its evidence and fix."""

from dataclasses import asdict, dataclass

KINDS = (
    "vanishing",
    "exploding",
    "dead_relu",
    "overfitting",
    "underfitting",
    "plateau",
    "converged",
    "learning_rate_too_high",
    "unnormalized_inputs",
)


@dataclass(frozen=True)
class Finding:
    """One diagnosed problem of a training run.

    Attributes:
        kind: One of `KINDS`, e.g. `"overfitting"`.
        title: One line naming the problem.
        evidence: The numbers and epochs behind it, e.g. "val_loss bottomed
            at 0.31 at epoch 6 and rose to 0.52 by epoch 20".
        fix: The recipe change to try, as command-line overrides, e.g.
            `--set model.dropout=0.3`.
        epoch: The epoch the problem starts or is clearest at, if any.

    Example:

    ```python
    finding = Finding("plateau", "Loss is flat", "loss moved 0.1% in 5 epochs",
                      "--set training.learning_rate=0.01", epoch=12)
    finding.to_dict()["kind"]  # "plateau"
    ```
    """

    kind: str
    title: str
    evidence: str
    fix: str
    epoch: int | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Argument `kind` must be one of {KINDS}. Received: kind={self.kind!r}")

    def to_dict(self) -> dict:
        """Returns the finding as a plain JSON-ready dict."""
        return asdict(self)
