"""RFT: reinforcement fine-tuning of a causal LM with the job's grader as the reward, on TRL's GRPO.

``train_rl`` reads top to bottom like ``train_sft``: load the model and tokenizer (a base model,
or a parent ft: model whose adapter trains further: SFT then RFT), render the prompts through
the chat template (tools included) and fit the completion budget to the model's sequence
limit, build the reward function (every sample graded with the job's grader) and the validation
evaluator, then train with TRL's GRPOTrainer (group-relative policy optimization): each step
samples ``samples_per_prompt`` completions of ``batch_size`` prompts from the current policy,
grades them, and pushes the policy towards the completions that scored above their group's mean.
LoRA by default, every weight when the model target trains fully. The callback reports each step
with the grader's figures, evaluates and checkpoints (rl_callback.py); the final adapter or
weights are saved like SFT's.

OpenAI's hyperparameters map onto the run as hparams.py resolves them: ``batch_size`` prompts
per step, ``n_epochs`` passes over the prompts, ``compute_multiplier`` -> samples per prompt,
``reasoning_effort`` -> the completion-token budget, ``eval_interval`` / ``eval_samples`` ->
the evaluations. No KL penalty against a reference model (TRL's default, beta 0), one policy
update per batch of samples, temperature 1. The completions' log-probabilities come from the
compact fused head, on their tokens only (token_loss.py). On a CPU in bfloat16 the frozen base
samples with packed weights (lm/packed_linear.py). With a ``response_format`` on the method every
sample, in training and evaluation, is decoded under its JSON schema (lm/constraints.py, as
serving decodes). On a GPU with vLLM installed (``OPENFT_SERVE_ENGINE`` auto or vllm), TRL's
colocated vLLM samples the training completions, the schema enforced by its structured outputs.
"""

from __future__ import annotations

from trl import GRPOConfig, GRPOTrainer

from datasets import Dataset
from openft.errors import InvalidRequest
from openft.graders.context import GradeContext
from openft.lm import packed_linear
from openft.lm.constraints import CompiledGrammar, GrammarCompiler, constrain_generate
from openft.lm.grammar import Grammar, response_format_grammar
from openft.lm.loading import stop_token_ids
from openft.schemas.graders import parse_grader
from openft.train import run
from openft.train.hparams import completion_budget, samples_per_prompt
from openft.train.micro_batches import TOKEN_BUDGET, rows_per_pass
from openft.train.reporter import Reporter
from openft.train.rewards import RewardFunction
from openft.train.rl_callback import ReinforcementCallback
from openft.train.rollouts import Evaluator, fitting_budget, longest_prompt, prompt_rows
from openft.train.spec import JobFailure, TrainResult, TrainSpec, checkpoint_root
from openft.train.token_loss import compact_fused_heads

VLLM_GPU_MEMORY_SHARE = 0.3  # of the GPU's memory, for vLLM's weights and KV cache while it samples


def train_rl(spec: TrainSpec, reporter: Reporter) -> TrainResult:
    model, tokenizer, max_length = run.load_model(spec, reporter)
    grader = parse_grader(spec.grader, allow_label_model=False)
    train = prompt_rows(spec.training_file, tokenizer)
    valid = prompt_rows(spec.validation_file, tokenizer) if spec.validation_file else None
    hyperparameters = spec.plan.hyperparameters
    longest_train = longest_prompt(train, tokenizer)
    budget = fitting_budget(
        max(longest_train, longest_prompt(valid, tokenizer) if valid else 0),
        budget=completion_budget(hyperparameters["reasoning_effort"]),
        max_length=max_length,
    )

    stops = stop_token_ids(tokenizer, model)  # type: ignore[arg-type]  # a PeftModel forwards its config
    response_format = response_format_grammar(spec.response_format, "method.reinforcement.response_format")
    compiled = _compiled(response_format, tokenizer, model, stops) if response_format else None
    rewards = RewardFunction(grader, spec.grading or GradeContext(), stop_ids=stops)
    evaluator = None
    if valid:
        samples = int(hyperparameters["eval_samples"])
        evaluator = Evaluator(valid, rewards, tokenizer, samples=samples, budget=budget, seed=spec.seed)
    callback = ReinforcementCallback(
        reporter,
        plan=spec.plan,
        grader=grader,
        rewards=rewards,
        evaluator=evaluator,
        save_dir=checkpoint_root(spec),
        tokenizer=tokenizer,
    )
    row_tokens = longest_train + budget  # the longest row a step can hold
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[rewards],
        args=_grpo_config(spec, budget, row_tokens, response_format),
        train_dataset=Dataset.from_list(train),
        processing_class=tokenizer,
        peft_config=run.peft_config(spec, model),
        callbacks=[callback],
    )
    _compact_heads(trainer)
    if spec.packed_weights and (packed := packed_linear.pack(trainer.model)):  # type: ignore[arg-type]
        reporter.on_note(f"Sampling with {packed} frozen linear layers packed for the CPU (bfloat16)")
    if compiled is not None:  # every sample of the policy (training and evaluation) follows the format
        constrain_generate(trainer.model, compiled, stops)
    try:
        return run.train_to_end(
            trainer, callback, spec, tokenizer, lambda: int(trainer.state.num_input_tokens_seen)
        )
    finally:
        rewards.close()


def _compact_heads(trainer: GRPOTrainer) -> None:
    """The fused LM head TRL scores completions with projects only their tokens (token_loss.py),
    at the sampling temperature; its entropy has no gradient, which no entropy bonus here needs."""
    args: GRPOConfig = trainer.args  # type: ignore[assignment]
    if args.entropy_coef or args.use_adaptive_entropy or args.cast_lm_head_to_fp32:
        return
    compact_fused_heads(trainer.model, trainer.ref_model, temperature=trainer.temperature)


def _compiled(grammar: Grammar, tokenizer, model, stops: frozenset[int]) -> CompiledGrammar:
    """The response format compiled for the model's vocabulary; an invalid schema fails the job."""
    try:
        return GrammarCompiler.for_model(tokenizer, model, stops).compile(grammar)
    except InvalidRequest as exc:
        raise JobFailure(exc.message, code="invalid_response_format") from None


def _grpo_config(
    spec: TrainSpec, budget: int, row_tokens: int, response_format: Grammar | None
) -> GRPOConfig:
    """One optimizer step per batch of ``batch_size`` prompts x ``samples_per_prompt`` completions,
    sampled at once and trained in micro-batches of a token budget (TRL's gradient accumulation
    over the one generation batch), so a step's activations never hold all its completions."""
    group = samples_per_prompt(spec.plan.hyperparameters["compute_multiplier"])
    completions = spec.plan.batch_size * group
    per_pass = rows_per_pass(completions, row_tokens, TOKEN_BUDGET[run.numerics_of(spec).device])
    arguments = run.trainer_arguments(spec)
    arguments["per_device_train_batch_size"] = per_pass
    arguments["gradient_accumulation_steps"] = completions // per_pass  # sampled once, then in passes
    return GRPOConfig(
        **arguments,
        num_generations=group,
        max_completion_length=budget,
        temperature=1.0,
        top_p=1.0,
        beta=0.0,
        num_iterations=1,
        shuffle_dataset=True,
        log_completions=False,
        **_vllm_arguments(spec, response_format),
    )


def _vllm_arguments(spec: TrainSpec, response_format: Grammar | None) -> dict:
    """TRL's colocated vLLM samples on the GPU (sharing it with training), the response format
    enforced by vLLM's structured outputs; nothing when transformers samples."""
    if not spec.use_vllm:
        return {}
    arguments: dict = {
        "use_vllm": True,
        "vllm_mode": "colocate",
        "vllm_gpu_memory_utilization": VLLM_GPU_MEMORY_SHARE,
        "vllm_enable_sleep_mode": True,  # its memory is released while the policy trains
    }
    if response_format is not None:
        arguments["generation_kwargs"] = {"structured_outputs": {"json": response_format.source}}
    return arguments
