"""check_file: a student's file (FILE[:NAME], .py or .ipynb) checked, never raising (docs: check.md)."""

from common.check.function import check_function
from common.check.report import Report
from common.errors import BadInput

MEMORY = 4 << 30  # bytes: enough for `import torch`
TIMEOUT = 120.0  # seconds per call of theirs


def check_file(
    target: str,
    *,
    inputs="onehot-cols",
    loss="sum",
    vectors="2d",
    convention="cols",
    hidden=5,
    seq_length=25,
    seed=1,
    data=None,
    timeout=TIMEOUT,
    memory=MEMORY,
    definitions_only: bool | None = None,
) -> Report:
    """The Report on target's function; a hang, crash or exit of their code is a "not judged" Report."""
    from backends import own

    try:
        fn = own.load(target if ".py:" in target else f"{target}:loss_and_grads")
    except BadInput as e:
        return Report("not judged", target, seed, reason=str(e))
    report = check_function(
        fn,
        inputs=inputs,
        loss=loss,
        vectors=vectors,
        convention=convention,
        hidden=hidden,
        seq_length=seq_length,
        seed=seed,
        data=data,
        timeout=timeout,
    )
    report.target = target
    return report
