"""Hyperparameter resolution ("auto" -> numbers) and step planning; pure Python."""

import subprocess
import sys

import pytest

from openft.train.hparams import learning_rate, plan_steps, plan_training, resolve_hyperparameters

pytestmark = pytest.mark.train


@pytest.mark.parametrize(
    ("n_examples", "epochs"), [(10, 10), (20, 5), (25, 4), (100, 3), (8333, 3), (20000, 1)]
)
def test_auto_n_epochs_follows_the_cookbook_heuristic(n_examples, epochs):
    resolved = resolve_hyperparameters({"n_epochs": "auto"}, n_examples=n_examples)
    assert resolved["n_epochs"] == epochs


@pytest.mark.parametrize(
    ("n_examples", "batch_size"), [(10, 1), (100, 1), (1000, 2), (20000, 40), (1_000_000, 256)]
)
def test_auto_batch_size_is_about_two_per_mille_capped(n_examples, batch_size):
    assert resolve_hyperparameters({}, n_examples=n_examples)["batch_size"] == batch_size


def test_missing_and_auto_values_all_become_numbers():
    resolved = resolve_hyperparameters(None, n_examples=10)
    assert resolved == {"batch_size": 1, "learning_rate_multiplier": 1.0, "n_epochs": 10}


def test_explicit_values_are_kept():
    requested = {"batch_size": 4, "learning_rate_multiplier": 0.5, "n_epochs": 2}
    assert resolve_hyperparameters(requested, n_examples=500) == requested


def test_dpo_resolves_beta():
    auto = resolve_hyperparameters({"beta": "auto"}, n_examples=50, method="dpo")
    explicit = resolve_hyperparameters({"beta": 0.3}, n_examples=50, method="dpo")
    assert (auto["beta"], explicit["beta"]) == (0.1, 0.3)
    assert "beta" not in resolve_hyperparameters({}, n_examples=50)


def test_learning_rate_is_base_times_multiplier():
    assert learning_rate({"learning_rate_multiplier": 2}, 1e-4) == pytest.approx(2e-4)


@pytest.mark.parametrize(
    ("n", "batch", "epochs", "plan"), [(101, 1, 3, (101, 303)), (10, 3, 2, (4, 8)), (10, 16, 1, (1, 1))]
)
def test_plan_steps_counts_a_short_last_batch(n, batch, epochs, plan):
    assert plan_steps(n, batch, epochs) == plan


@pytest.mark.parametrize(
    ("full_finetune", "configured", "rate"), [(False, None, 2e-4), (True, None, 2e-5), (True, 1e-3, 1e-3)]
)
def test_the_default_learning_rate_depends_on_how_the_model_trains(full_finetune, configured, rate):
    plan = plan_training(
        {"learning_rate_multiplier": 2},
        n_examples=10,
        method="supervised",
        full_finetune=full_finetune,
        base_learning_rate=configured,
    )
    assert plan.learning_rate == pytest.approx(2 * rate)


def test_the_plan_holds_every_number_of_the_run():
    plan = plan_training({"n_epochs": 3, "batch_size": 4}, n_examples=10, method="dpo", full_finetune=False)
    assert plan.hyperparameters == {
        "batch_size": 4,
        "learning_rate_multiplier": 1.0,
        "n_epochs": 3,
        "beta": 0.1,
    }
    assert (plan.steps_per_epoch, plan.total_steps, plan.valid_interval) == (3, 9, 1)
    long = plan_training(
        {"n_epochs": 10, "batch_size": 1}, n_examples=100, method="supervised", full_finetune=False
    )
    assert (long.total_steps, long.valid_interval) == (1000, 50)


def test_hparams_import_does_not_load_torch():
    code = "import sys, openft.train, openft.train.hparams; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
