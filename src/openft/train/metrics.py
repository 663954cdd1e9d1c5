"""Metrics: the figures TRL logs, under the names users see, and the step event's message.

Per method, a TRL log key maps to a name that gets the prefix of where it was measured:
``train_`` (the step's batch), ``valid_`` (a validation mini-batch) or ``full_valid_`` (the
whole validation file, at epoch ends). Supervised: loss, mean_token_accuracy. DPO: loss,
rewards_chosen, rewards_rejected, reward_margin (chosen minus rejected) and reward_accuracy
(the share of pairs whose chosen answer out-rewards the rejected one). Reinforcement: the
grader's rewards (reward_metrics.py), with TRL's loss and entropy beside them. Pure Python.
"""

LOG_NAMES = {
    "supervised": {"loss": "loss", "mean_token_accuracy": "mean_token_accuracy"},
    "dpo": {
        "loss": "loss",
        "rewards/chosen": "rewards_chosen",
        "rewards/rejected": "rewards_rejected",
        "rewards/margins": "reward_margin",
        "rewards/accuracies": "reward_accuracy",
    },
    # RFT rewards come from the job's grader (reward_metrics.py); TRL's own figures are extra
    "reinforcement": {"loss": "loss", "entropy": "entropy"},
}

# (metric, how the step message names it), in message order; absent metrics are left out
LOSS_LABELS = (
    ("train_loss", "training loss"),
    ("train_reward_margin", "reward margin"),
    ("train_reward_accuracy", "reward accuracy"),
    ("valid_loss", "validation loss"),
    ("full_valid_loss", "full validation loss"),
)
MESSAGE_LABELS = {
    "supervised": LOSS_LABELS,
    "dpo": LOSS_LABELS,
    "reinforcement": (
        ("train_mean_reward", "train mean reward"),
        ("full_valid_mean_reward", "full validation mean reward"),
        ("full_valid_mean_parse_error", "full validation mean parse error"),
    ),
}
MESSAGE_SEPARATOR = {"reinforcement": ", "}  # OpenAI's RFT events: "Step 10/20, train mean reward=..."


def named(logs: dict, method: str, prefix: str, *, log_prefix: str = "") -> dict:
    """The figures of a TRL log (keys ``log_prefix`` + key, e.g. ``eval_loss``) as ``prefix`` + name."""
    names = LOG_NAMES[method].items()
    return {
        f"{prefix}{name}": logs[log_prefix + key]
        for key, name in names
        if logs.get(log_prefix + key) is not None
    }


def prefixed(figures: dict, prefix: str) -> dict:
    """``{"loss": 1.2}`` -> ``{"valid_loss": 1.2}`` for ``prefix="valid_"``."""
    return {f"{prefix}{name}": value for name, value in figures.items()}


def step_message(step: int, total: int, metrics: dict, method: str = "supervised") -> str:
    """``Step 3/9: training loss=0.69, reward margin=0.01, reward accuracy=0.50, validation loss=0.70``;
    for RFT ``Step 3/9, train mean reward=0.42, full validation mean reward=0.68``."""
    labels = MESSAGE_LABELS[method]
    parts = [f"{label}={metrics[key]:.2f}" for key, label in labels if key in metrics]
    return f"Step {step}/{total}{MESSAGE_SEPARATOR.get(method, ': ')}" + ", ".join(parts)
