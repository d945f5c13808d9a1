"""A shipped character model (``lstm generate``'s) as the reader's language model: the log-
probability of each next character given the text read so far, for the CTC prefix beam search
(:func:`..ctc.prefix_beam`: ``score = log p(text | ink) + weight * log p_LM(text) + bonus * len``).

Each prefix's LM state is computed once, from its parent's, one character at a time through the
shared streaming helper (``core/sampling.LSTMStream.step_rows``); a line starts after a newline,
as the character models read documents. A character the LM does not know costs ``UNKNOWN``.
"""

from __future__ import annotations

import math

import numpy as np

UNKNOWN = math.log(1e-4)


class CharLM:
    """``lm(prefix, k)`` -> log p(alphabet[k-1] | the characters of ``prefix``), prefixes being
    tuples of the reader's labels (1-based into ``alphabet``)."""

    def __init__(self, ckpt: dict, alphabet: str, name: str = ""):
        from lstm_cli.tasks.text import Sampler, from_checkpoint

        self.name = name
        model, vocab = from_checkpoint(ckpt)
        self.stream = Sampler(model, vocab)
        self.stream.reset()
        logits = self.stream.prime("")
        self.ids = np.array([vocab.index.get(c, -1) for c in alphabet])  # reader label k -> LM id at k-1
        self.cache = {(): (self.stream.rows(), self._log_softmax(logits[None])[0])}

    @staticmethod
    def _log_softmax(z: np.ndarray) -> np.ndarray:
        z = z - z.max(-1, keepdims=True)
        return z - np.log(np.exp(z).sum(-1, keepdims=True))

    def _dist(self, prefix: tuple[int, ...]) -> np.ndarray:
        """log p over the LM's vocabulary after ``prefix`` (computed from its parent's state)."""
        if prefix not in self.cache:
            self._dist(prefix[:-1])
            parent = self.cache[prefix[:-1]]
            lm_id = self.ids[prefix[-1] - 1]
            if lm_id < 0:  # a character the LM does not know: its state stays
                self.cache[prefix] = parent
            else:
                logits, rows = self.stream.step_rows(np.array([lm_id]), parent[0])
                self.cache[prefix] = (rows, self._log_softmax(logits)[0])
        return self.cache[prefix][1]

    def __call__(self, prefix: tuple[int, ...], k: int) -> float:
        lm_id = self.ids[k - 1]
        return float(self._dist(prefix)[lm_id]) if lm_id >= 0 else UNKNOWN

    def reset(self) -> None:
        """Forget the prefixes of the last line (the start state stays)."""
        self.cache = {(): self.cache[()]}
