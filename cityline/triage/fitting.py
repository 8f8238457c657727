"""Fitting the model's weights: logistic regression by full-batch Adam, in numpy.

Documents are sparse (a few dozen features out of thousands), so they are kept
as (row, feature) pairs sorted both ways; a product with the weight matrix is
one gather and one ``np.add.reduceat``. All fields are fitted together, each
column learning only from the documents that carry its field's label.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DTYPE = np.float32


@dataclass(frozen=True)
class SparseRows:
    """Binary documents, each scaled by 1/sqrt(its number of features)."""

    rows: np.ndarray
    cols: np.ndarray
    row_scale: np.ndarray  # 1/sqrt(length) per document
    row_starts: np.ndarray
    by_col: np.ndarray  # the pairs' order when sorted by feature
    col_starts: np.ndarray
    col_ids: np.ndarray  # the feature of each group in col_starts
    n_features: int

    @classmethod
    def build(cls, documents: list[list[int]], n_features: int) -> SparseRows:
        lengths = np.array([len(ids) for ids in documents])
        if (lengths == 0).any():
            raise ValueError("every document needs at least one feature (the bias)")
        rows = np.repeat(np.arange(len(documents)), lengths)
        cols = np.fromiter((i for ids in documents for i in ids), dtype=np.int64, count=int(lengths.sum()))
        row_starts = np.r_[0, np.cumsum(lengths)[:-1]]
        by_col = np.argsort(cols, kind="stable")
        sorted_cols = cols[by_col]
        col_starts = np.flatnonzero(np.r_[True, sorted_cols[1:] != sorted_cols[:-1]])
        scale = (1.0 / np.sqrt(lengths)).astype(DTYPE)
        return cls(rows, cols, scale, row_starts, by_col, col_starts, sorted_cols[col_starts], n_features)

    def times(self, weights: np.ndarray) -> np.ndarray:
        return np.add.reduceat(weights[self.cols], self.row_starts, axis=0) * self.row_scale[:, None]

    def transposed_times(self, gradient: np.ndarray) -> np.ndarray:
        scaled = gradient * self.row_scale[:, None]
        result = np.zeros((self.n_features, gradient.shape[1]), dtype=DTYPE)
        result[self.col_ids] = np.add.reduceat(scaled[self.rows[self.by_col]], self.col_starts, axis=0)
        return result


def fit(
    matrix: SparseRows,
    targets: np.ndarray,
    use: np.ndarray,
    softmax_parts: list[slice],
    epochs: int,
    rate: float = 0.15,
    l2: float = 1e-5,
) -> tuple[np.ndarray, np.ndarray]:
    """Weights and bias for every column; ``use`` weighs each (document, column) in the loss.

    ``l2`` was chosen by leaving one outsider's set out at a time (eval/cross_sets.py):
    1e-4 smoothed away the words that carry a category to text written by other people.

    Columns inside one of ``softmax_parts`` form a softmax (one label per field);
    the other columns are independent yes/no outputs.
    """
    n_columns = targets.shape[1]
    weights = np.zeros((matrix.n_features, n_columns), dtype=DTYPE)
    bias = np.zeros(n_columns, dtype=DTYPE)
    state = [np.zeros_like(weights), np.zeros_like(weights), np.zeros_like(bias), np.zeros_like(bias)]
    in_softmax = np.zeros(n_columns, dtype=bool)
    for part in softmax_parts:
        in_softmax[part] = True
    for step in range(1, epochs + 1):
        logits = matrix.times(weights) + bias
        predicted = np.empty_like(logits)
        predicted[:, ~in_softmax] = 1.0 / (1.0 + np.exp(-logits[:, ~in_softmax]))
        for part in softmax_parts:
            exp = np.exp(logits[:, part] - logits[:, part].max(axis=1, keepdims=True))
            predicted[:, part] = exp / exp.sum(axis=1, keepdims=True)
        error = (predicted - targets) * use
        _adam(weights, matrix.transposed_times(error) + l2 * weights, state, 0, step, rate)
        _adam(bias, error.sum(axis=0), state, 2, step, rate)
    return weights, bias


def _adam(param: np.ndarray, grad: np.ndarray, state: list, first: int, step: int, rate: float) -> None:
    state[first] = 0.9 * state[first] + 0.1 * grad
    state[first + 1] = 0.999 * state[first + 1] + 0.001 * grad * grad
    corrected_rate = rate * math.sqrt(1 - 0.999**step) / (1 - 0.9**step)
    param -= corrected_rate * state[first] / (np.sqrt(state[first + 1]) + 1e-7)
