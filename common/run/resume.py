"""Reading a run folder back to resume it (docs: runs.md#resuming); writing it is common/run/files.py.

A resumed run keeps every setting it was started with (common/run/config.py's Config, stored in its
checkpoint, and before the first one in settings.json) unless the user gives another one that a
resumed run may change.
"""

import json
from dataclasses import asdict
from pathlib import Path

from common.contract import Backend
from common.data import BUILTIN_NAME, Corpus
from common.errors import BadInput
from common.run import checkpoint, inputs
from common.run.config import Config
from common.run.files import Run
from common.run.folder import LOCK, RESUMABLE
from common.run.npzfile import FORMAT
from common.run.train import State

FREE_ON_RESUME = {
    "updates",
    "epochs",
    "sample_every",
    "checkpoint_every",
    "validate_every",
}  # a new target, other intervals
FORCE_ON_RESUME = {"eta"}  # a different learning rate, with --force


def read(folder: Path) -> tuple[dict | None, dict]:
    """A run folder's checkpoint, checked (common/run/checkpoint.py); before the first one, (None, its settings)."""
    if (folder / "checkpoint.npz").exists():
        return checkpoint.read_checkpoint(folder / "checkpoint.npz")
    path = folder / "settings.json"
    try:
        assert path.is_file()  # not a FIFO, which would block the read
        meta = json.loads(path.read_text(encoding="utf-8"))
        assert meta["format"] == FORMAT and meta["kind"] == "settings" and isinstance(meta["chars"], str)
        assert isinstance(meta["config"], dict) and isinstance(meta["corpus"]["sha256"], str)
        assert isinstance(meta["backend"]["name"], str) and isinstance(meta["backend"]["options"], dict)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AssertionError):
        raise BadInput(f"{path} is damaged: it is not the settings this program writes") from None
    return None, meta


def holds_run(folder: Path) -> None:
    """One BadInput line unless folder holds a run (a checkpoint, or the settings written before the first)."""
    if not any((folder / name).exists() for name in RESUMABLE):
        empty = all(p.name == LOCK for p in folder.iterdir())
        start = f"start a run there with --out {folder}" if empty else "start a new run with another --out"
        raise BadInput(f"{folder} holds no run to resume (no checkpoint.npz, no settings.json); {start}")


def status(folder: Path) -> str | None:
    """The status summary.json gives the run (running, completed, interrupted, ...); None without one."""
    try:
        return json.loads((folder / "summary.json").read_text(encoding="utf-8"))["status"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        return None


def reachable(folder: Path, done: int, total: int, changes: dict) -> None:
    """A resumed run only goes forward: one BadInput line when it would have to go back, Finished when
    nothing is left to do (a completed run at its total); otherwise train, or at least finish."""
    asked = " ".join(f"--{k} {changes[k]}" for k in ("updates", "epochs") if k in changes) or "its settings"
    if done > total:
        raise BadInput(
            f"{folder} is at update {done:,}, past the {total:,} of {asked}; a run cannot go back: "
            f"ask for more than {done:,} updates, or sample from it as it is"
        )
    if done == total and status(folder) == "completed":
        more = "ask for more with --updates or --epochs"
        raise Finished(f"{folder} is already at update {done:,} of {total:,}, complete; {more}")


class Finished(Exception):
    """A resume with nothing to do: the run is complete at the total asked for. Not an error."""


def resumed_config(meta: dict, changes: dict, force: bool) -> Config:
    """The run's config with the changes the user asked for, if a resumed run may take them."""
    try:
        old = Config(**meta["config"])  # a version-1 checkpoint lacks checkpoint_every: its default then
    except TypeError as e:  # a key this program does not know, or a value of the wrong type
        raise BadInput(f"the run's settings are damaged or not this program's ({e})") from None
    for name, value in changes.items():
        flag, was = "--" + name.replace("_", "-"), getattr(old, name)
        if value == was or name in FREE_ON_RESUME or (name in FORCE_ON_RESUME and force):
            continue
        if name in FORCE_ON_RESUME:
            raise BadInput(f"{flag} {value} differs from the run's {was}; add --force to change it on resume")
        raise BadInput(f"{flag} {value} differs from the run's {was}; a resumed run keeps its {flag}")
    if "epochs" in changes and "updates" not in changes:
        changes = changes | {"updates": None}  # a new number of epochs replaces a total of updates
    return Config(**(asdict(old) | changes))


def resumed_corpus(meta: dict, data: Path | None) -> tuple[Corpus, Path | None]:
    """The run's text, from --data or from where the run read it; it must be the same text."""
    was = meta["corpus"]
    if data is None and was.get("path"):
        data = Path(was["path"])
        if not data.exists():
            raise BadInput(f"this run read its text from {data}, which is gone; give the same text with --data PATH")
    corpus = inputs.text(data)  # None: Python's docs
    if data is None and was["name"] != BUILTIN_NAME:
        raise BadInput(f"this run trained on {was['name']}; give it with --data")
    if corpus.sha256 != was["sha256"]:
        raise BadInput(
            f"the data differs from the run's: {corpus.name} has sha256 {corpus.sha256[:12]}..., "
            f"the run trained on {was['name']} with sha256 {was['sha256'][:12]}..."
        )
    if corpus.chars != meta["chars"]:
        raise BadInput(f"the vocabulary of {corpus.name} differs from the run's ({corpus.K} vs {len(meta['chars'])})")
    return corpus, data


def resumed_backend(meta: dict, name: str | None, options: dict) -> tuple[str, dict]:
    """The run's backend and its options, unless the user names another backend or other options."""
    if name is None and not options:
        return meta["backend"]["name"], meta["backend"].get("options", {})  # version 1: no options kept
    return name or meta["backend"]["name"], options


def reopen(out: Path, corpus: Corpus, cfg: Config, backend: Backend, data_path, options, state: State, lock) -> Run:
    """The folder of a run resumed at state, made to agree with its checkpoint and its settings."""
    folder = Run(out, corpus, cfg, backend, data_path, options, lock)
    folder.write_settings()  # what it goes on with (a new target, say), should it stop before a checkpoint
    folder.rewrite_history(state)  # rows written after the checkpoint are not part of the run
    for leftover in folder.out.glob(".*.tmp"):  # what a killed write left behind
        leftover.unlink()
    folder.saved_at = state.update
    return folder
