"""The checker: a student's own loss and gradients against ours, the bug named (docs: check.md)."""
