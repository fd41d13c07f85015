"""Adam with global gradient-norm clipping, one fused kernel per step.

torch.optim.Adam's Python wrapper costs ~100 us per step on tiny networks (and imports
torch._dynamo, ~1 s, on first use); on-policy RL takes thousands of small steps, so this calls
the same fused CPU/CUDA kernel directly. A unit test checks it matches torch.optim.Adam.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


class Adam:
    """Adam (Kingma & Ba 2015) over a fixed list of parameters."""

    def __init__(
        self,
        parameters: Iterable[torch.nn.Parameter],
        learning_rate: float,
        eps: float = 1e-8,
        betas: tuple[float, float] = (0.9, 0.999),
    ) -> None:
        self.parameters = [p for p in parameters if p.requires_grad]
        self.learning_rate = learning_rate
        self.eps = eps
        self.betas = betas
        self.exp_avgs = [torch.zeros_like(p) for p in self.parameters]
        self.exp_avg_sqs = [torch.zeros_like(p) for p in self.parameters]
        self.steps = [torch.zeros((), device=p.device) for p in self.parameters]

    def zero_grad(self) -> None:
        """Drop the gradients (set to None, so backward writes fresh ones)."""
        for parameter in self.parameters:
            parameter.grad = None

    @torch.no_grad()
    def step(self, max_grad_norm: float | None = None) -> None:
        """Clip the global gradient norm to ``max_grad_norm`` (if given), then take an Adam step.

        Parameters without a gradient (outside this loss, e.g. a held actor) are left alone,
        moments and step counts included, as torch.optim.Adam does."""
        parameters, exp_avgs, exp_avg_sqs, steps = (
            self.parameters,
            self.exp_avgs,
            self.exp_avg_sqs,
            self.steps,
        )
        grads = [p.grad for p in parameters]
        if any(grad is None for grad in grads):
            kept = [i for i, grad in enumerate(grads) if grad is not None]
            parameters, grads, exp_avgs, exp_avg_sqs, steps = (
                [values[i] for i in kept]
                for values in (parameters, grads, exp_avgs, exp_avg_sqs, steps)
            )
            if not parameters:
                return
        if max_grad_norm is not None:
            total_norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
            torch._foreach_mul_(grads, (max_grad_norm / (total_norm + 1e-6)).clamp(max=1.0))
        torch._foreach_add_(steps, 1.0)
        torch._fused_adam_(
            parameters,
            grads,
            exp_avgs,
            exp_avg_sqs,
            [],
            steps,
            lr=self.learning_rate,
            beta1=self.betas[0],
            beta2=self.betas[1],
            weight_decay=0.0,
            eps=self.eps,
            amsgrad=False,
            maximize=False,
        )

    def state_dict(self) -> dict:
        """Plain-data state (moment estimates, step counts, hyperparameters)."""
        return {
            "learning_rate": self.learning_rate,
            "eps": self.eps,
            "betas": list(self.betas),
            "exp_avgs": [t.clone() for t in self.exp_avgs],
            "exp_avg_sqs": [t.clone() for t in self.exp_avg_sqs],
            "steps": [t.clone() for t in self.steps],
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore what state_dict() produced."""
        self.learning_rate = state["learning_rate"]
        self.eps = state["eps"]
        self.betas = tuple(state["betas"])
        for mine, saved in (
            (self.exp_avgs, state["exp_avgs"]),
            (self.exp_avg_sqs, state["exp_avg_sqs"]),
            (self.steps, state["steps"]),
        ):
            for target, source in zip(mine, saved, strict=True):
                target.copy_(source)
