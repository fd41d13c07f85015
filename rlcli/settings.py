"""Typed settings of a training run: the schema behind every config option.

Plain dataclasses (no Hydra imports) so library code can take them as arguments; rlcli/config.py
registers them with Hydra. ``"???"`` marks a value that must be given (OmegaConf's MISSING).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MISSING: Any = "???"


@dataclass
class EnvConfig:
    """Which environment to train on and how to wrap it."""

    id: str = MISSING
    """A registered gymnasium id, or ``module:Id`` to import a custom env's module first."""
    num_envs: int = 4
    """Copies of the env stepped together for training."""
    max_episode_steps: int | None = None
    """Override the id's time limit; null keeps the registered one."""
    reward_threshold: float | None = None
    """Mean evaluation return that counts as solved; null uses the env spec's."""
    normalize_observation: bool = False
    """Standardise observations with running statistics (saved with checkpoints)."""
    normalize_reward: bool = False
    """Scale rewards by the running std of the discounted return."""
    clip_observation: float = 10.0
    """Clip normalised observations to [-c, c]."""
    clip_reward: float = 10.0
    """Clip normalised rewards to [-c, c]."""
    kwargs: dict[str, Any] = field(default_factory=dict)
    """Extra keyword arguments for the env constructor."""
    vectorization: str = "auto"
    """How the training envs step: sync (one process; the env's numpy-vectorised version where it
    has one), async (one worker process per env copy, shared memory) or auto (async only for slow
    envs - MuJoCo, Atari, Box2D - with several copies and free cores)."""


@dataclass
class NetworkConfig:
    """Policy/value network architecture."""

    architecture: str = "auto"
    """auto (the Nature CNN for image observations, an MLP otherwise), mlp or cnn."""
    hidden_sizes: list[int] = field(default_factory=lambda: [64, 64])
    """Widths of the hidden layers (actor and critic each get this MLP; with the CNN, layers after
    its shared 512 features)."""
    activation: str = "tanh"
    """One of tanh, relu, elu, gelu, silu."""
    orthogonal_init: bool = True
    """Orthogonal weight initialisation (policy output gain 0.01, value output gain 1)."""
    log_std_init: float = 0.0
    """Initial log standard deviation of Gaussian policies."""
    bias: bool = True
    """Bias terms in the Linear layers of the MLPs and the output heads (false: the classic
    REINFORCE policy, weights only)."""


@dataclass
class EvalConfig:
    """Evaluation on a separate env during training."""

    every_steps: int = 10_000
    """Evaluate every this many env steps (and always at the end); 0 evaluates only at the end."""
    episodes: int = 10
    """Episodes per evaluation."""
    deterministic: bool = True
    """Act with the policy's mode instead of sampling."""


@dataclass
class RewardModelConfig:
    """The learned reward r(s, a): an ensemble of MLPs fitted to preferences between segments."""

    hidden_sizes: list[int] = field(default_factory=lambda: [64, 64])
    """Widths of each member's hidden layers."""
    activation: str = "relu"
    """One of tanh, relu, elu, gelu, silu."""
    ensemble_size: int = 3
    """Members; their disagreement picks the pairs to label (Christiano et al. 2017)."""
    use_action: bool = True
    """Learn r(s, a); false learns r(s) from the observation alone, for envs whose reward
    depends on the state (an action input lets the model rate actions differently where the
    labels never judged them, and PPO receives that difference on every sampled action)."""
    use_next_observation: bool = False
    """Learn r(s, a, s'): the observation after the step is an input too (as imitation's reward
    nets allow). A reward that pays a change of state, as LunarLander's shaping pays touching
    down once, is then a function of the inputs; r(s, a) spreads it over the states after."""
    absorbing_from_last_step: bool = False
    """The reward of the absorbing state after a termination is a function of the episode's last
    step (its inputs: with use_next_observation, the final observation) instead of one number:
    where episodes end by success as well as failure (LunarLander comes to rest or crashes), the
    two endings are then worth different amounts forever after."""
    learning_rate: float = 1e-3
    """Adam learning rate of every fit."""
    weight_decay: float = 1e-4
    """L2 penalty on the weights (keeps r from overfitting few labels)."""
    epochs: int = 20
    """Passes over the comparisons at every fit."""
    batch_size: int = 64
    """Comparisons per gradient step."""
    validation_fraction: float = 0.2
    """Comparisons held out to measure pair accuracy."""
    label_noise: float = 0.1
    """Probability that a label is random, built into the likelihood (Christiano et al.)."""


@dataclass
class LabellerConfig:
    """Who answers "which segment is better": a simulated teacher from the env's true reward,
    a labels file written by people or tools, or people in the browser (``rlcli label``)."""

    kind: str = "synthetic"
    """synthetic (from the true reward), file (a JSON Lines labels file) or human."""
    temperature: float = 0.0
    """Synthetic: 0 is a perfect oracle; > 0 a Boltzmann-rational teacher (B-Pref)."""
    mistake_rate: float = 0.0
    """Synthetic: probability that an answer is flipped."""
    equal_threshold: float = 0.0
    """Synthetic: true returns closer than this are labelled equal."""
    discount: float = 1.0
    """Synthetic: a myopic teacher weights step t of a segment by discount^(L-1-t)."""
    labels_file: str | None = None
    """file: the JSON Lines labels file (default: the stage directory's labels.jsonl)."""
    min_new_labels: int = 10
    """human: answers to wait for before each reward-model update."""
    wait_seconds: float = 60.0
    """human: longest wait for new labels before training on with the last reward model."""


@dataclass
class RlhfConfig:
    """PPO on a learned reward with a KL leash to a reference policy (off unless enabled)."""

    enabled: bool = False
    """Replace the env reward by r_hat(s, a) - beta * (log pi - log pi_ref)."""
    reward_model: str | None = None
    """A trained reward model (checkpoint or run directory); null starts a fresh one."""
    reference: str | None = None
    """The frozen reference policy pi_ref (SFT checkpoint or run directory); null: no KL term."""
    kl_coef: float = 0.1
    """beta, the weight of the per-step KL penalty (the initial value when adaptive)."""
    kl_target: float | None = None
    """Adaptive beta: steer the mean per-step KL to this value (Ziegler et al. 2019); null
    keeps beta fixed."""
    kl_horizon: int = 10_000
    """Adaptive beta's horizon in env steps (K_beta of Ziegler et al.)."""
    online: bool = True
    """Keep labelling pairs from recent rollouts and refitting the reward model while PPO runs."""
    label_budget: int = 500
    """Most comparisons asked for over the run."""
    initial_label_fraction: float = 0.25
    """Share of the budget labelled before the first update (from the first rollout)."""
    label_every_steps: int = 10_000
    """Ask for new labels and refit the reward model every this many env steps."""
    segment_length: int = 25
    """Env steps per segment (about 1-2 s of behaviour)."""
    absorbing_steps: int | None = None
    """Absorbing steps a termination is paid for (discounted); null: forever, gamma / (1 -
    gamma) of them. Labels judge the absorbing reward over at most segment_length - 1 steps;
    paying it forever multiplies its error by 1 / (1 - gamma), 1,000 at gamma 0.999."""
    termination_pair_fraction: float = 0.0
    """Share of each round's pairs (stage 2's included) that put a segment ending in a
    termination against a random one. PPO pays the learned reward of the absorbing state
    gamma / (1 - gamma) times per termination, so where episodes end by success as well as
    failure that reward must be judged; random or disputed pairs rarely hold such segments."""
    candidates_per_label: int = 4
    """Random pairs scored per label wanted; the most disputed are asked (1 = random pairs)."""
    segment_pool: int = 2_000
    """Most recent segments kept to draw pairs from."""
    shuffle_labels: bool = False
    """Control experiment: train the reward model on labels shuffled across pairs."""
    reward_scale: float = 1.0
    """Multiplier of the normalised learned reward (its absorbing value included) that PPO
    receives; PPO's value and gradient-norm clipping are not scale-free."""
    reward_model_config: RewardModelConfig = field(default_factory=RewardModelConfig)
    labeller: LabellerConfig = field(default_factory=LabellerConfig)


@dataclass
class WandbConfig:
    """Weights & Biases run settings, used with ``track=wandb``."""

    project: str = "rlcli"
    """W&B project the run goes to."""
    entity: str | None = None
    """W&B team or user; null: your default entity."""
    group: str | None = None
    """Group runs in the W&B UI (e.g. one per sweep); null: none."""
    name: str | None = None
    """Run name; null: the run directory's name."""
    tags: list[str] = field(default_factory=list)
    """Tags of the W&B run."""
    mode: str | None = None
    """online, offline or disabled; null: wandb's own default (the WANDB_MODE variable)."""


@dataclass
class TrainConfig:
    """Top-level config of ``rlcli train``."""

    algo: Any = MISSING
    """Algorithm hyperparameters (config group ``algo``)."""
    env: EnvConfig = field(default_factory=EnvConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    seed: int = 0
    """Seeds python, numpy, torch and the envs."""
    total_timesteps: int = 100_000
    """Env steps to train for (summed over envs)."""
    device: str = "auto"
    """auto (CUDA when present), cpu or cuda."""
    torch_threads: int = 1
    """Intra-op threads for torch; small MLPs run fastest on one; 0 leaves torch's default."""
    compile: str = "false"
    """torch.compile of PPO's update step: false (the default: the same arithmetic on every
    machine), true, or auto (on when the time it is predicted to save over the budget exceeds
    its compile time, inductor's on-disk cache counted, so the choice can differ by machine)."""
    acting: str = "torch"
    """How rollouts call the policy: torch (the network itself; the default, the arithmetic
    docs/results.md was measured with) or numpy (a numpy copy of an MLP policy on the CPU, its
    actor and critic first layers fused: faster rollouts, the same distribution up to float
    rounding, so a seed's run differs from its torch one; CNN policies act through torch)."""
    stop_when_solved: bool = False
    """Stop at the first evaluation at or above the env's reward threshold."""
    stop_when_running_return_solved: bool = False
    """Stop once the running return of the training episodes exceeds the env's reward threshold
    (the classic REINFORCE criterion); the run still ends with an evaluation."""
    running_return_weight: float = 0.05
    """Weight of each finished training episode in the running return, an exponential average
    that starts at the first episode's return (TensorBoard: charts/running_return)."""
    log_every_episodes: int = 0
    """Log a line every this many training episodes (return, running return, step); 0: none."""
    checkpoint_every_steps: int = 50_000
    """Write checkpoints/latest.pt every this many env steps; 0 disables periodic checkpoints."""
    progress: str = "auto"
    """Console output: auto (a live line on a terminal, log lines otherwise), bar, log or none;
    train.log holds the whole log either way."""
    track: str = "none"
    """Mirror the TensorBoard scalars, the config and the summary to an experiment tracker:
    none or wandb (needs the wandb extra; settings under ``wandb``). TensorBoard is always
    written."""
    wandb: WandbConfig = field(default_factory=WandbConfig)
    init_from: str | None = None
    """Warm start: a checkpoint or run directory whose network weights (and observation
    statistics) this new run starts from; its budget, optimizer and counters start fresh."""
    dataset: str | None = None
    """Demonstrations for learners that consume a dataset (algo=bc): a Minari dataset id or the
    path of a dataset directory (as written by ``rlcli collect``)."""
    rlhf: RlhfConfig = field(default_factory=RlhfConfig)
    """Reinforcement learning from preferences (ppo only)."""
    tuned_for: str | None = None
    """Env id a tuned preset was written for; set only by configs/tuned/ files."""
    trial: str | None = None
    """Optuna trial this run reports its evaluations to (and is pruned by); set only by the optuna
    sweeper (hydra/sweeper=optuna), as JSON naming the storage, study and trial number."""


@dataclass
class PipelineConfig:
    """``rlcli rlhf``: demonstrator -> demonstrations -> SFT -> reward model -> PPO on the learned
    reward with a KL leash, beside a shuffled-label control and PPO on the true reward."""

    env: str = "CartPole-v1"
    """Env preset (configs/env/) every stage runs on; configs/rlhf/<env>.yaml holds its
    pipeline preset."""
    seed: int = 0
    """Seed of every stage."""
    out: str | None = None
    """Pipeline directory; default outputs/rlhf/<env>_seed<seed>. A re-run skips finished
    stages and resumes an interrupted one."""
    demonstrator: str | None = None
    """A trained run to take demonstrations from; null trains one (demonstrator_overrides)."""
    demonstrator_overrides: list[str] = field(default_factory=list)
    """``rlcli train`` overrides of the demonstrator (e.g. a small budget for a mediocre one)."""
    demo_episodes: int = 10
    """Demonstration episodes collected from the demonstrator."""
    demo_deterministic: bool = True
    """Collect the demonstrator's mode actions; false samples them, so SFT learns the
    demonstrator's action distribution (and its entropy) rather than its mode."""
    sft: bool = True
    """Run stage 1 (SFT by behaviour cloning) and start RL from it; false starts RL from
    scratch with an online reward model only (no reference policy)."""
    sft_overrides: list[str] = field(default_factory=list)
    """``rlcli train algo=bc`` overrides of the SFT stage."""
    reward_model_labels: int = 100
    """Comparisons labelled in stage 2, from segments of the SFT policy."""
    reward_model_steps: int = 10_000
    """Env steps of the SFT policy cut into stage 2's segments."""
    rl_overrides: list[str] = field(default_factory=list)
    """``rlcli train algo=ppo`` overrides of the RL stages (budget, rlhf.* settings)."""
    control: bool = True
    """Also run the pipeline with shuffled labels (the control every result is measured against)."""
    true_reward_baseline: bool = True
    """Also run PPO on the env's true reward from the same start and budget."""
