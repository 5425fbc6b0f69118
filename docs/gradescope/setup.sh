#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder's image (docs/teachers.md#gradescope).
# The zip holds this file, run_autograder, and this project in char-rnn/ (see the page for how to make it).
# The project needs Python 3.11 or newer: pick Gradescope's Ubuntu 24.04 base image (Python 3.12).
set -euo pipefail

apt-get install -y python3 python3-venv python3-pip
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "setup.sh: $(python3 --version) is older than 3.11; pick the Ubuntu 24.04 base image" >&2; exit 1; }
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install -c /autograder/source/char-rnn/constraints.txt /autograder/source/char-rnn
# If your students use PyTorch in their function, install it too (the CPU build is enough):
# /autograder/venv/bin/pip install -c /autograder/source/char-rnn/constraints.txt 'torch==2.13.0'
