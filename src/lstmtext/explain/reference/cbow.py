"""word2vec CBOW with one context word, one SGD step, in plain NumPy (thesis section 2.4.2, equations 2.1-2.10).

Written after the aspect-sentiment thesis (chapter 2, on aspect-based sentiment analysis), which follows Rong's
"word2vec parameter learning explained" ([24]). V words, N hidden units; the input word w_I is the
one-hot x, the output (target) word is w_O with index j*::

    h    = W^T x := v_{w_I}^T                       (2.1)   W (V, N): row k is the input vector v_{w_k}
    u_j  = v'_{w_j}^T h                             (2.2)   W' (N, V): column j is the output vector v'_{w_j}
    y_j  = exp(u_j) / sum_j' exp(u_j')              (2.3)
    E    = -u_{j*} + log sum_j' exp(u_j')           (2.4)   max p(w_O | w_I) = -E
    e_j  = dE/du_j = y_j - t_j                      (2.5)   t_j = 1 for j = j*, else 0
    dE/dw'_ij = e_j h_i                             (2.6)
    w'_ij(baru) = w'_ij(lama) - eta e_j h_i         (2.7)
    EH_i = sum_j e_j w'_ij                          (2.8)
    dE/dW = x (x) EH = x EH^T                       (2.9)   only the row of w_I is nonzero
    v_{w_I}(baru) = v_{w_I}(lama) - eta EH^T        (2.10)

As in [24], EH (2.8) uses W' before its update (2.7): both updates follow the gradient at the old weights.
For the target word e_{j*} = y_{j*} - 1 < 0, so (2.7) adds eta (1 - y_{j*}) h to v'_{w_O}: the output vector
of the target moves towards h = v_{w_I}, and every other v'_{w_j} moves away from it (the thesis's reading).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstmtext.errors import ConfigError
from lstmtext.explain.reference.bilstm import softmax
from lstmtext.explain.reference.onehot import one_hot


@dataclass
class CBOWStep:
    """Every intermediate value of one CBOW step (shapes with V words, N hidden units)."""

    vocabulary: list[str]
    context: int  # k, the index of w_I
    target: int  # j*, the index of w_O
    lr: float  # eta
    W: np.ndarray  # (V, N) before the step
    W_prime: np.ndarray  # (N, V) before the step
    x: np.ndarray  # (V,) one-hot of w_I
    h: np.ndarray  # (N,)  (2.1)
    u: np.ndarray  # (V,)  (2.2)
    y: np.ndarray  # (V,)  (2.3)
    loss: float  # E  (2.4)
    t: np.ndarray  # (V,) one-hot of w_O
    e: np.ndarray  # (V,)  (2.5)
    dW_prime: np.ndarray  # (N, V) h (x) e  (2.6)
    W_prime_new: np.ndarray  # (N, V)  (2.7)
    EH: np.ndarray  # (N,)  (2.8)
    dW: np.ndarray  # (V, N) x (x) EH  (2.9)
    W_new: np.ndarray  # (V, N): only row w_I changed  (2.10)
    loss_after: float  # E with the updated W and W'


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """cos(a, b) = a.b / (|a| |b|); 0 when either is the zero vector."""
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norm if norm else 0.0


def check_weights(W, W_prime) -> tuple[np.ndarray, np.ndarray]:
    """W (V, N) and W' (N, V) as float64.

    Raises:
        ConfigError: The shapes do not agree.
    """
    W, W_prime = np.asarray(W, dtype=np.float64), np.asarray(W_prime, dtype=np.float64)
    if W.ndim != 2 or W_prime.shape != W.shape[::-1]:
        raise ConfigError(f"CBOW: W {W.shape}, W' {W_prime.shape}; expected W (V, N) and W' (N, V)")
    return W, W_prime


def loss(W: np.ndarray, W_prime: np.ndarray, context: int, target: int) -> float:
    """E = -u_{j*} + log sum_j' exp(u_j')  (2.4), computed stably."""
    u = W_prime.T @ W[context]  # (V,)  (2.1), (2.2)
    top = np.max(u)
    return float(-u[target] + top + np.log(np.sum(np.exp(u - top))))


def cbow_step(vocabulary: list[str], W, W_prime, context: str, target: str, lr: float) -> CBOWStep:
    """Forward (2.1)-(2.4), the error (2.5), then both SGD updates (2.6)-(2.10).

    Args:
        vocabulary: The V words (the index of a word is its position).
        W: Input weights (V, N); row k is v_{w_k}.
        W_prime: Output weights (N, V); column j is v'_{w_j}.
        context: The input (context) word w_I.
        target: The output (target) word w_O.
        lr: The learning rate eta.

    Raises:
        ConfigError: Shapes that do not fit the vocabulary, or a word outside it.
    """
    W, W_prime = check_weights(W, W_prime)
    size = len(vocabulary)
    if W.shape[0] != size:
        raise ConfigError(f"CBOW: W has {W.shape[0]} rows for a vocabulary of {size} words; expected (V, N) = "
                          f"({size}, N)")
    for role, word in (("context", context), ("target", target)):
        if word not in vocabulary:
            raise ConfigError(f"CBOW: {role} word {word!r} is not in the vocabulary ({', '.join(vocabulary)})")
    k, j_star = vocabulary.index(context), vocabulary.index(target)
    x = one_hot(k, size)  # (V,)
    h = W.T @ x  # (N,)  (2.1): = W[k], the row v_{w_I}
    u = W_prime.T @ h  # (V,)  (2.2): u_j = v'_{w_j}^T h
    y = softmax(u)  # (V,)  (2.3)
    t = one_hot(j_star, size)  # (V,)
    e = y - t  # (V,)  (2.5)
    dW_prime = np.outer(h, e)  # (N, V)  (2.6): dE/dw'_ij = e_j h_i
    W_prime_new = W_prime - lr * dW_prime  # (2.7)
    EH = W_prime @ e  # (N,)  (2.8): EH_i = sum_j e_j w'_ij, with the old W'
    dW = np.outer(x, EH)  # (V, N)  (2.9): nonzero only in row k
    W_new = W - lr * dW  # (2.10): v_{w_I} - eta EH^T; the other rows stay
    return CBOWStep(
        vocabulary=list(vocabulary), context=k, target=j_star, lr=lr, W=W, W_prime=W_prime, x=x, h=h, u=u, y=y,
        loss=loss(W, W_prime, k, j_star), t=t, e=e, dW_prime=dW_prime, W_prime_new=W_prime_new, EH=EH, dW=dW,
        W_new=W_new, loss_after=loss(W_new, W_prime_new, k, j_star),
    )


def movement(step: CBOWStep) -> dict[str, np.ndarray]:
    """What the step did to the output vectors, as (before, after) pairs.

    * ``dot``: (V, 2) v'_{w_j} . h for every word j, before and after (2.7), with h = v_{w_I} held fixed;
      the target's grows by eta (1 - y_{j*}) |h|^2, the others shrink by eta y_j |h|^2;
    * ``cos``: (V, 2) cos(v'_{w_j}, v_{w_I}), before and after (2.7);
    * ``y_target``: (2,) p(w_O | w_I) = y_{j*} before and after both updates (2.7) and (2.10);
    * ``loss``: (2,) E before and after both updates.
    """
    h, old, new = step.h, step.W_prime, step.W_prime_new  # (N,), (N, V), (N, V)
    h_new = step.W_new[step.context]  # (N,) v_{w_I} after (2.10)
    return {
        "dot": np.stack([old.T @ h, new.T @ h], axis=1),
        "cos": np.array([[cosine(old[:, j], h), cosine(new[:, j], h)] for j in range(old.shape[1])]),
        "y_target": np.array([step.y[step.target], softmax(new.T @ h_new)[step.target]]),
        "loss": np.array([step.loss, step.loss_after]),
    }
