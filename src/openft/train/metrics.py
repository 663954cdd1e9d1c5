"""Metrics: the figures TRL logs, under the names users see, and the step event's message.

Per method, a TRL log key maps to a name that gets the prefix of where it was measured:
``train_`` (the step's batch), ``valid_`` (a validation mini-batch) or ``full_valid_`` (the
whole validation file, at epoch ends). Supervised: loss, mean_token_accuracy. DPO: loss,
rewards_chosen, rewards_rejected, reward_margin (chosen minus rejected) and reward_accuracy
(the share of pairs whose chosen answer out-rewards the rejected one). Pure Python.
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
}

# (metric, how the step message names it), in message order; absent metrics are left out
MESSAGE_LABELS = (
    ("train_loss", "training loss"),
    ("train_reward_margin", "reward margin"),
    ("train_reward_accuracy", "reward accuracy"),
    ("valid_loss", "validation loss"),
    ("full_valid_loss", "full validation loss"),
)


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


def step_message(step: int, total: int, metrics: dict) -> str:
    """``Step 3/9: training loss=0.69, reward margin=0.01, reward accuracy=0.50, validation loss=0.70``."""
    parts = [f"{label}={metrics[key]:.2f}" for key, label in MESSAGE_LABELS if key in metrics]
    return f"Step {step}/{total}: " + ", ".join(parts)
