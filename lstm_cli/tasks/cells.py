"""What single cells of a text model track (Karpathy, Johnson and Fei-Fei 2015, "Visualizing and
Understanding Recurrent Networks"): read a text through a char model, keep every cell's state
tanh(c_t) after each character, and find the cells whose state follows a feature of the text
(inside quotes, bracket depth, position in the line, inside a regex's matches) by correlation;
also the model's surprise, -log p(char), at each character.

The text is read through the batch-1 stream (``core.sampling.LSTMStream``), after a newline, as
``lstm generate`` primes: so the states are the ones the model has while writing.
"""

from __future__ import annotations

import re

import numpy as np

from lstm_cli.core.errors import UsageError

FEATURES = ("quotes", "brackets", "line-position")


def read(net, vocab, text: str):
    """-> states (T, L, H) of tanh(c) after each character, surprise (T,) in nats."""
    from lstm_cli.tasks.text import Sampler

    s = Sampler(net, vocab)
    ids = vocab.encode(text, what="the text", hint="inspect a text in the model's own characters").tolist()
    logits = s.feed([vocab.index["\n"] if "\n" in vocab.index else ids[0]])
    states = np.empty((len(ids), s.L, s.H), np.float32)
    surprise = np.empty(len(ids), np.float32)
    for t, idx in enumerate(ids):
        z = logits.astype(np.float64)
        surprise[t] = np.log(np.exp(z - z.max()).sum()) + z.max() - z[idx]
        logits = s.step(idx)
        for l in range(s.L):
            states[t, l] = np.tanh(s.c[l])
    return states, surprise


def feature(text: str, name: str) -> np.ndarray:
    """A number per character: ``quotes`` 1 inside "..." (the quote marks included), ``brackets``
    the depth of ( [ { nesting, ``line-position`` characters since the line began; any other name
    is a regular expression (dot matches newlines), 1 inside its matches."""
    out = np.zeros(len(text), np.float32)
    if name == "quotes":
        inside = False
        for i, c in enumerate(text):
            if c == '"':
                out[i] = 1.0
                inside = not inside
            else:
                out[i] = float(inside)
    elif name == "brackets":
        depth = 0
        for i, c in enumerate(text):
            if c in "([{":
                depth += 1
            out[i] = depth
            if c in ")]}":
                depth = max(depth - 1, 0)
    elif name == "line-position":
        col = 0
        for i, c in enumerate(text):
            out[i] = col
            col = 0 if c == "\n" else col + 1
    else:
        try:
            pattern = re.compile(name, re.S)
        except re.error as e:
            raise UsageError(f"--find {name!r}: not one of {', '.join(FEATURES)}, nor a regular expression ({e})") from None
        for m in pattern.finditer(text):
            out[m.start(): m.end()] = 1.0
    if len(out) > 1 and out.min() == out.max():  # a correlation with a constant means nothing
        from lstm_cli.core.errors import excerpt

        said = ("matches nothing in" if out[0] == 0 else "matches all of") if name not in FEATURES else "is the same all through"
        raise UsageError(f"--find {excerpt(name)} {said} the text, so no cell can follow it",
                         hint="give a feature that changes along the text")
    return out


def rank(states: np.ndarray, f: np.ndarray, top: int = 5) -> list[tuple[int, int, float]]:
    """The ``top`` cells by |Pearson correlation| of their state with ``f``: [(layer, cell, r)]."""
    T = states.shape[0]
    a = states.reshape(T, -1).astype(np.float64)
    a = a - a.mean(0)
    g = f.astype(np.float64) - f.mean()
    denom = np.sqrt((a * a).sum(0) * (g * g).sum()) + 1e-12
    r = (a * g[:, None]).sum(0) / denom
    H = states.shape[2]
    best = np.argsort(-np.abs(r))[:top]
    return [(int(k // H), int(k % H), float(r[k])) for k in best]


def parse_cell(spec: str, layers: int, hidden: int) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+):(\d+)", spec.strip())
    if not m or not (0 <= int(m.group(1)) < layers and 0 <= int(m.group(2)) < hidden):
        raise UsageError(f"--cell {spec!r}: give LAYER:CELL with layer 0-{layers - 1} and cell 0-{hidden - 1}")
    return int(m.group(1)), int(m.group(2))
