"""Preference likelihoods: pure functions over summed segment rewards (Christiano et al. 2017)."""

from __future__ import annotations

from itertools import combinations

import torch
import torch.nn.functional as F


def preference_probability(
    returns_a: torch.Tensor, returns_b: torch.Tensor, label_noise: float = 0.0
) -> torch.Tensor:
    """P(A preferred over B) = softmax over the two summed rewards (Bradley-Terry), mixed with a
    ``label_noise`` chance that the answer was random."""
    return (1.0 - label_noise) * torch.sigmoid(returns_a - returns_b) + 0.5 * label_noise


def bradley_terry_loss(
    returns_a: torch.Tensor,  # [P] summed predicted rewards of segment A
    returns_b: torch.Tensor,  # [P]
    preferences: torch.Tensor,  # [P] 1 = A better, 0 = B better, 0.5 = equal
    weights: torch.Tensor | None = None,  # [P] one ranking counts once in total
    label_noise: float = 0.0,
) -> torch.Tensor:
    """Weighted cross-entropy between the labels and P(A > B); the weights sum to the number of
    rankings the pairs came from, and the loss is their weighted mean."""
    if label_noise == 0.0:  # the numerically stable form
        log_a = F.logsigmoid(returns_a - returns_b)
        log_b = F.logsigmoid(returns_b - returns_a)
    else:
        probability = preference_probability(returns_a, returns_b, label_noise)
        log_a, log_b = torch.log(probability), torch.log1p(-probability)
    per_pair = -(preferences * log_a + (1.0 - preferences) * log_b)
    if weights is None:
        return per_pair.mean()
    return (weights * per_pair).sum() / weights.sum()


def ranking_to_pairs(ranking: list[str]) -> list[tuple[str, str, float]]:
    """All K(K-1)/2 pairs of a best-first ranking as (better, worse, weight); the weights sum to 1
    so one ranking is one unit of weight however long it is (Ouyang et al. 2022)."""
    if len(ranking) < 2:
        return []
    pairs = list(combinations(ranking, 2))  # earlier in the ranking = better
    weight = 1.0 / len(pairs)
    return [(better, worse, weight) for better, worse in pairs]


def pair_accuracy(
    returns_a: torch.Tensor, returns_b: torch.Tensor, preferences: torch.Tensor
) -> float:
    """Share of strict labels (not equal) whose better segment has the larger predicted sum."""
    strict = preferences != 0.5
    if not bool(strict.any()):
        return float("nan")
    predicted = (returns_a > returns_b).float()
    return float((predicted[strict] == preferences[strict]).float().mean())
