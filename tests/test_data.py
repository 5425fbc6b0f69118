"""Reading, checking and cutting the text (common/data.py)."""

import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from common.data import Corpus, Streams, builtin_corpus, encode, prose, read_corpus, split
from common.errors import BadInput

ROOT = os.path.dirname(os.path.dirname(__file__))


def test_vocabulary_is_sorted_unique_characters(corpus, text):
    assert corpus.chars == "".join(sorted(set(text)))
    assert len(set(text)) == corpus.K
    assert corpus.decode(corpus.ids) == text


def test_vocabulary_does_not_depend_on_hash_seed(corpus_file):
    # a vocabulary built from an unordered set (as in the seed script) changes with PYTHONHASHSEED
    code = f"from common.data import read_corpus; print(repr(read_corpus({str(corpus_file)!r}).chars))"
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": s},
        ).stdout
        for s in ("0", "1", "2")
    }
    assert len(outs) == 1 and outs.pop().strip()


def test_read_is_utf8_bytes_as_they_are(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes("caf\u00e9\r\nna\u00efve \u2022\n".encode())
    c = read_corpus(path)
    assert c.text == "caf\u00e9\r\nna\u00efve \u2022\n"  # no newline translation, no locale
    assert len(set(c.text)) == c.K


def test_encode_rejects_characters_outside_the_vocabulary():
    with pytest.raises(BadInput, match="not in the model's vocabulary"):
        encode("abz", "ab")


def test_builtin_corpus_is_stable():
    a, b = builtin_corpus(), builtin_corpus()
    assert a.sha256 == b.sha256 and len(a.text) > 100_000 and a.K > 50


def test_the_builtin_text_is_prose():
    """Issue 26: at least 80% non-whitespace, no table-border line, no run of more than 8 spaces."""
    text = builtin_corpus().text
    assert sum(not c.isspace() for c in text) / len(text) >= 0.80
    assert not re.search(r"^[ \t]*[-=+*|~^_:]{3,}[-=+*|~^_: \t]*$", text, re.M)  # a border or an underline
    assert "|" not in text and "+--" not in text and ">>> " not in text
    assert not re.search(" {9,}", text) and "\t" not in text


def test_data_md_states_the_builtin_texts_size_and_K():
    """docs/data.md says how long the built-in text is and its K, for the Python it names."""
    page = (Path(ROOT) / "docs" / "data.md").read_text(encoding="utf-8")
    size = r"In Python (\S+) it is ([\d,]+) characters with K = (\d+) distinct"
    m = re.search(size + r"\s+ones \(sha256 `(\w+)...`\), ([\d.]+)%", page)
    assert m, "docs/data.md no longer states the built-in text's size and K"
    if platform.python_version() != m[1]:
        pytest.skip(f"docs/data.md states the text of Python {m[1]}; this is {platform.python_version()}")
    corpus, text = builtin_corpus(), builtin_corpus().text
    share = f"{100 * sum(not c.isspace() for c in text) / len(text):.1f}"
    assert (int(m[2].replace(",", "")), int(m[3]), m[4], m[5]) == (len(text), corpus.K, corpus.sha256[:12], share)
    from pydoc_data.topics import topics  # the topics as they ship, before common.data.prose

    raw = "".join(topics.values())
    shipped = re.search(r"prints, ([\d,]+) characters with (\d+) distinct.*?has ([\d,]+) runs of 9", page, re.S)
    runs = len(re.findall(" {9,}", raw))
    assert shipped and [int(g.replace(",", "")) for g in shipped.groups()] == [len(raw), len(set(raw)), runs]


def test_prose_keeps_sentences_and_drops_tables_code_and_repeats():
    topic = (
        "The title\n*********\n\nA sentence that\n   goes on.  Two spaces.\n\n"
        "+-----+-----+\n| a   | b   |\n+=====+=====+\n\n   def f(x):\n       return x\n\n"
        ">>> 1 + 1\n2\n\nA list:\n\n* an item, indented\n  on its second line."
    )
    kept = "The title\n\nA sentence that\ngoes on. Two spaces.\n\nA list:\n\n* an item, indented\non its second line."
    assert prose([topic]) == kept + "\n"
    assert prose([topic, topic]) == kept + "\n\nThe title\n\nA list:\n"  # a repeat of 2+ lines is dropped


def test_streams_batch_one_walks_the_text_in_chunks(corpus):
    s = Streams(corpus.ids, 10, 1)
    assert s.chunks == (len(corpus.ids) - 1) // 10
    for i in (0, 1, s.chunks - 1):
        x, y = s.chunk(i)
        assert x.shape == y.shape == (10, 1)
        assert np.array_equal(x[:, 0], corpus.ids[10 * i : 10 * i + 10])
        assert np.array_equal(y[:, 0], corpus.ids[10 * i + 1 : 10 * i + 11])


def test_streams_cut_the_text_into_contiguous_streams(corpus):
    B, tau = 4, 7
    s = Streams(corpus.ids, tau, B)
    L = len(corpus.ids) // B
    x, y = s.chunk(3)
    for j in range(B):
        start = j * L + 3 * tau
        assert np.array_equal(x[:, j], corpus.ids[start : start + tau])
        assert np.array_equal(y[:, j], corpus.ids[start + 1 : start + tau + 1])
    assert s.chunks == (L - 1) // tau


def test_last_chunk_that_does_not_fit_is_dropped():
    ids = np.arange(26)  # 26 = 25 + 1: exactly one chunk of 25
    assert Streams(ids, 25, 1).chunks == 1
    assert Streams(np.arange(50), 25, 1).chunks == 1
    assert Streams(np.arange(51), 25, 1).chunks == 2


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "does not exist"),
        ("dir", "is a directory"),
        (b"", "is empty"),
        (b"abc\xff\xfedef", "not valid UTF-8: byte 3"),
    ],
)
def test_bad_data_files(tmp_path, content, message):
    path = tmp_path / "data.txt"
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(BadInput, match=message):
        read_corpus(path)


def test_text_shorter_than_one_sequence():
    with pytest.raises(BadInput, match="needs at least 26"):
        Streams(np.arange(25), 25, 1)


def test_batch_so_large_that_streams_are_shorter_than_a_sequence():
    with pytest.raises(BadInput, match="shorter than one sequence"):
        Streams(np.arange(1000), 25, 50)


def test_corpus_is_immutable(corpus):
    with pytest.raises(AttributeError):
        corpus.text = "x"  # type: ignore[misc]
    assert isinstance(corpus, Corpus)


@pytest.mark.parametrize("fraction", [0.0, -0.1, 0.51, 1.0, float("nan")])
def test_validation_fraction_outside_0_to_half_is_refused(fraction):
    with pytest.raises(BadInput) as e:
        split(np.arange(1000), fraction, 25)
    assert "--validation must be a fraction in (0, 0.5]" in str(e.value) and "\n" not in str(e.value)


def test_validation_part_shorter_than_one_chunk_is_refused():
    with pytest.raises(BadInput, match=r"holds out 25 of 1000 characters, shorter than one chunk \(seq_length 25"):
        split(np.arange(1000), 0.025, 25)
    train, held = split(np.arange(1000), 0.026, 25)  # 26 characters: one chunk of inputs and targets
    assert len(held) == 26 and np.array_equal(np.concatenate([train, held]), np.arange(1000))


def test_shuffled_order_is_a_permutation_per_epoch_reproducible_for_seed_and_epoch(corpus):
    s = Streams(corpus.ids, 25, 1, order="shuffled", seed=5)
    orders = {e: [s.visit(e, i) for i in range(s.chunks)] for e in (0, 1, 2)}
    for order in orders.values():
        assert sorted(order) == list(range(s.chunks))
    assert orders[0] != orders[1] != orders[2]
    again = Streams(corpus.ids, 25, 1, order="shuffled", seed=5)  # a resumed run: a fresh object
    assert [again.visit(2, i) for i in range(s.chunks)] == orders[2]
    other_seed = Streams(corpus.ids, 25, 1, order="shuffled", seed=6)
    assert [other_seed.visit(0, i) for i in range(s.chunks)] != orders[0]
    sequential = Streams(corpus.ids, 25, 1)
    assert [sequential.visit(3, i) for i in range(s.chunks)] == list(range(s.chunks))


def test_unknown_order_is_refused(corpus):
    with pytest.raises(BadInput, match="--order must be one of sequential, shuffled"):
        Streams(corpus.ids, 25, 1, order="random")
