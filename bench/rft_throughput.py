"""RFT throughput: a plain TRL `GRPOTrainer` script with a Python reward function against an openft
reinforcement job with the equivalent grader, same task, model, data and hyperparameters, in one run:
samples/s, optimizer steps/s, each step's split (sampling / grading / training), peak RSS, ratios.

    .venv/bin/python bench/rft_throughput.py [--prompts 8 --generations 4 --steps 4 --completion-tokens 48]

The task: capital cities and two-number sums, worded four ways (prompts of 37 to 66 tokens), which
SmolLM2-135M-Instruct gets right some of the time. The reward is 1 when the answer occurs in the
completion ignoring case: for openft a `string_check` grader (`ilike` of `{{sample.output_text}}`
and `{{item.answer}}`; `--grader python`: a python grader computing it in the sandbox), for the
baseline a Python function computing exactly that on TRL's decoded completion.

The baseline is what a user writes: the rows as TRL conversational prompts with an `answer` column,
the same LoRA (r=8, alpha=16, dropout 0.05, all linear layers), learning rate 2e-4, prompts per step,
num_generations, max_completion_length, temperature 1, beta 0, seed and steps, no evaluation; once
with GRPOConfig's defaults otherwise (TRL 1.16 turns on activation checkpointing; bf16 follows the
device) and once with openft's remaining choices (no activation checkpointing, full determinism on a
CPU), which isolates the pipelines. openft runs its real job path: a job created with the official
SDK (batch_size = prompts, compute_multiplier = generations / 4, the base model's context_length set
so the completion budget is --completion-tokens), trained by `python -m openft.train JOB_ID` as a
worker runs it; its split is read from the metrics events (`data.timing.step`). The baseline's split
is measured the same way by a TrainerCallback that is also the reward function: sampling from the
step's start to the reward call, grading the reward call, training the rest of the step (loss,
backward, optimizer); "between" is the trainer's runtime outside its steps. Wall time and peak RSS
of each process come from wait4.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LORA = {"r": 8, "lora_alpha": 16, "lora_dropout": 0.05, "target_modules": "all-linear"}
LEARNING_RATE = 2e-4
CAPITALS = [
    ("France", "Paris"), ("Japan", "Tokyo"), ("Italy", "Rome"), ("Germany", "Berlin"),
    ("Spain", "Madrid"), ("Egypt", "Cairo"), ("Canada", "Ottawa"), ("Russia", "Moscow"),
    ("China", "Beijing"), ("Greece", "Athens"), ("Portugal", "Lisbon"), ("Ireland", "Dublin"),
]  # fmt: skip
QUIZ = "You are a quiz assistant. Reply with the answer only, no explanation."
WORDINGS = [  # (system message, user message): prompts of 37 to 66 tokens
    (None, "What is {question}?"),
    (None, "Answer in one word or number. What is {question}?"),
    (QUIZ, "What is {question}?"),
    (
        None,
        "I am preparing for a quiz tomorrow and keep forgetting some answers. Could you please "
        "remind me what {question} is? Thank you so much for your help!",
    ),
]
PYTHON_SOURCE = (
    "def grade(sample, item):\n"
    "    return 1.0 if item['answer'].casefold() in sample['output_text'].casefold() else 0.0\n"
)


def dataset(n: int) -> list[dict]:
    """openft RFT rows: `messages` and the grader's `answer`, four wordings of two kinds of question."""
    rows = []
    for i in range(n):
        if i % 2 == 0:
            country, answer = CAPITALS[(i // 2) % len(CAPITALS)]
            question = f"the capital of {country}"
        else:
            a, b = 3 + (i * 7) % 40, 11 + (i * 13) % 50
            question, answer = f"{a} + {b}", str(a + b)
        system, user = WORDINGS[(i // 2) % len(WORDINGS)]
        messages = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": user.format(question=question)})
        rows.append({"messages": messages, "answer": answer})
    return rows


def grader(kind: str) -> dict:
    if kind == "python":
        return {"type": "python", "name": "answer", "source": PYTHON_SOURCE}
    return {
        "type": "string_check",
        "name": "answer",
        "input": "{{sample.output_text}}",
        "reference": "{{item.answer}}",
        "operation": "ilike",
    }


def reward_of(text: str, answer: str) -> float:
    """What both graders compute: `ilike` is case-insensitive containment (graders/string_check.py)."""
    return 1.0 if answer.casefold() in text.casefold() else 0.0


def step_timer(steps: list[dict]):
    """The baseline's reward function (TRL's signature) and a TrainerCallback in one: each step's
    split measured as openft's rl_callback.py measures it, appended to ``steps``."""
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        __name__ = "answer"  # TRL names the reward's figures after it

        def __call__(self, completions, answer, completion_ids, **_):
            started = time.perf_counter()
            self.graded = self.graded or started
            rewards = [reward_of(c[0]["content"], a) for c, a in zip(completions, answer)]
            self.rewards += rewards
            self.lengths += [len(ids) for ids in completion_ids]
            self.grading += time.perf_counter() - started
            return rewards

        def on_step_begin(self, args, state, control, **kwargs):
            self.started, self.graded, self.grading = time.perf_counter(), None, 0.0
            self.rewards, self.lengths = [], []

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not logs or "loss" not in logs:
                return
            full = time.perf_counter() - self.started
            sampling = (self.graded or self.started) - self.started
            n, training = max(1, len(self.rewards)), max(0.0, full - sampling - self.grading)
            step = {"sampling": sampling, "grading": self.grading, "training": training}
            mean = {"reward": sum(self.rewards) / n, "tokens": sum(self.lengths) / n}
            steps.append({**step, "full_iteration": full, **mean})

    return StepTimer()


def run_baseline(args) -> None:
    """The hand-written TRL script (runs in its own process)."""
    import torch
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from datasets import Dataset

    rows = [json.loads(line) for line in Path(args.data).read_text().splitlines()]
    tokenizer = AutoTokenizer.from_pretrained(str(args.model_path))
    model = AutoModelForCausalLM.from_pretrained(str(args.model_path), dtype=torch.float32)
    on_gpu = torch.cuda.is_available()
    tuned = {"bf16": on_gpu and torch.cuda.is_bf16_supported()}  # a CPU refuses bf16=True
    if args.baseline == "matched":  # openft's remaining choices, so only the pipelines differ
        tuned |= {"activation_checkpointing": False, "full_determinism": not on_gpu}
        tuned |= {"data_seed": args.seed, "dataloader_pin_memory": on_gpu}
    config = GRPOConfig(
        output_dir=tempfile.mkdtemp(),
        per_device_train_batch_size=args.prompts * args.generations,  # completions per step
        num_generations=args.generations,
        max_completion_length=args.completion_tokens,
        temperature=1.0,
        beta=0.0,
        learning_rate=LEARNING_RATE,
        max_steps=args.steps,
        seed=args.seed,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        **tuned,
    )
    steps: list[dict] = []
    timer = step_timer(steps)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[timer],
        args=config,
        train_dataset=Dataset.from_list([{"prompt": r["messages"], "answer": r["answer"]} for r in rows]),
        processing_class=tokenizer,
        peft_config=LoraConfig(task_type="CAUSAL_LM", **LORA),
        callbacks=[timer],
    )
    runtime = trainer.train().metrics["train_runtime"]
    print("BENCH " + json.dumps({"train_runtime": runtime, "steps": steps}), flush=True)


def measured(command: list[str], env: dict) -> dict:
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = "".join(process.stdout or [])
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{command} failed:\n{output[-4000:]}")
    cpu = usage.ru_utime + usage.ru_stime  # the whole process, less sensitive than wall to a shared CPU
    return {"wall": wall, "cpu": cpu, "peak_rss_mb": usage.ru_maxrss / 1024, "output": output}


def profiled(args, name: str) -> list[str]:
    """`-m cProfile -o <dir>/<name>.prof` when --profile is given."""
    return ["-m", "cProfile", "-o", str(args.profile / f"{name}.prof")] if args.profile else []


def longest_prompt(data: Path, model_path: Path) -> int:
    """The longest prompt in tokens as openft renders it, for the completion budget's context."""
    from transformers import AutoTokenizer

    from openft.train.rollouts import prompt_rows

    tokenizer = AutoTokenizer.from_pretrained(str(model_path))
    rows = prompt_rows(data, tokenizer)
    return max(len(tokenizer(r["prompt"], add_special_tokens=False)["input_ids"]) for r in rows)


def run_openft(args, data: Path, data_dir: Path, model_path: Path) -> dict:
    sys.path.insert(0, str(ROOT / "tests"))
    from openai import OpenAI

    from openft import queue
    from openft.config import BUILTIN_MODEL, SETTINGS_ENV, BaseModelConfig, Settings
    from openft.train.hparams import COMPLETION_BUDGETS, SAMPLES_PER_UNIT_COMPUTE
    from openft.trainers import training_env
    from support.server import RunningServer

    source = "builtin" if args.model_path is None else str(model_path)
    effort = "low" if args.completion_tokens <= COMPLETION_BUDGETS["low"] else "high"
    context = longest_prompt(data, model_path) + args.completion_tokens  # budget = context - longest
    settings = Settings(
        data_dir=data_dir,
        embedded_worker=False,
        validator_poll_seconds=0.1,
        base_models={BUILTIN_MODEL: BaseModelConfig(source=source, context_length=context)},
    )
    server = RunningServer(settings).start()
    try:
        with OpenAI(base_url=server.url, api_key="bench") as client:
            file_id = client.files.create(file=data.open("rb"), purpose="fine-tune").id
            hyper = {
                "n_epochs": 1,
                "batch_size": args.prompts,
                "learning_rate_multiplier": 1.0,
                "compute_multiplier": args.generations / SAMPLES_PER_UNIT_COMPUTE,
                "reasoning_effort": effort,
            }
            job = client.fine_tuning.jobs.create(
                model=BUILTIN_MODEL,
                training_file=file_id,
                seed=args.seed,
                method={
                    "type": "reinforcement",
                    "reinforcement": {"grader": grader(args.grader), "hyperparameters": hyper},
                },
            )
            while client.fine_tuning.jobs.retrieve(job.id).status == "validating_files":
                time.sleep(0.1)
            claimed = queue.claim(server.services.db, worker_id="bench")
            assert claimed and claimed.id == job.id, client.fine_tuning.jobs.retrieve(job.id).error
            env = {
                **training_env(os.environ),  # as a worker starts it
                SETTINGS_ENV: settings.for_training_process(data_dir, settings.resolved_database_url),
            }
            result = measured([sys.executable, *profiled(args, "openft"), "-m", "openft.train", job.id], env)
            done = client.fine_tuning.jobs.retrieve(job.id)
            assert done.status == "succeeded", done.error
            events = [
                e.data for e in client.fine_tuning.jobs.list_events(job.id, limit=100) if e.type == "metrics"
            ]
    finally:
        server.stop()
    result["steps"] = [
        {**d["timing"]["step"], "reward": d["train_mean_reward"], "tokens": d["completion_tokens_mean"]}
        for d in sorted(events, key=lambda d: d["step"])
        if d["step"] > 0
    ]
    log = data_dir / "jobs" / job.id / "train.log"
    text = result["output"] + (log.read_text() if log.exists() else "")
    result["train_runtime"] = float(re.findall(r"'train_runtime': '?([0-9.]+)", text)[-1])
    return result


def summary(run: dict, samples: int) -> dict:
    steps = run["steps"]
    split = {k: sum(s[k] for s in steps) for k in ("sampling", "grading", "training", "full_iteration")}
    return {
        **split,
        "full": run["train_runtime"],
        "between": run["train_runtime"] - split["full_iteration"],
        "samples_s": samples / run["train_runtime"],
        "steps_s": len(steps) / run["train_runtime"],
        "reward": sum(s["reward"] for s in steps) / len(steps),
        "tokens": sum(s["tokens"] for s in steps) / len(steps),
    }


def report(args, runs: dict[str, dict]) -> None:
    import torch
    import trl

    samples = args.steps * args.prompts * args.generations
    device = (
        torch.cuda.get_device_name(0)
        if torch.cuda.is_available()
        else f"CPU ({os.cpu_count()} cores, {platform.processor() or platform.machine()})"
    )
    model = args.model_path or "built-in SmolLM2-135M-Instruct"
    print(f"device: {device}; torch {torch.__version__}; trl {trl.__version__}; model {model}")
    print(
        f"RFT: {args.prompts} prompts x {args.generations} samples per step, {args.steps} steps "
        f"({samples} samples), completions <= {args.completion_tokens} tokens, grader {args.grader}"
    )
    sums = {name: summary(run, samples) for name, run in runs.items()}
    print(f"{'':26}{'samples/s':>10}{'steps/s':>9}{'train s':>9}{'process s':>10}", end="")
    print(f"{'process CPU s':>14}{'peak RSS MB':>12}")
    for name, run in runs.items():
        s = sums[name]
        print(
            f"{name:26}{s['samples_s']:10.2f}{s['steps_s']:9.3f}{run['train_runtime']:9.1f}"
            f"{run['wall']:10.1f}{run['cpu']:14.1f}{run['peak_rss_mb']:12.0f}"
        )
    print(f"{'s, summed over steps':26}{'sampling':>10}{'grading':>9}{'training':>9}{'between':>9}", end="")
    print(f"{'grading ms/sample':>18}{'tokens/sample':>14}{'reward':>7}")
    for name, s in sums.items():
        print(
            f"{name:26}{s['sampling']:10.1f}{s['grading']:9.3f}{s['training']:9.1f}{s['between']:9.1f}"
            f"{1000 * s['grading'] / samples:18.3f}{s['tokens']:14.1f}{s['reward']:7.2f}"
        )
    ours, o = runs["openft job"], sums["openft job"]
    for name in (n for n in runs if n != "openft job"):
        base, b = runs[name], sums[name]
        print(
            f"ratio openft / {name}: samples/s and steps/s {b['full'] / o['full']:.2f}x, "
            f"process {base['wall'] / ours['wall']:.2f}x, process CPU {base['cpu'] / ours['cpu']:.2f}x, "
            f"peak memory {ours['peak_rss_mb'] / base['peak_rss_mb']:.2f}x"
        )
        times = ", ".join(f"{k} {o[k] / b[k]:.2f}x" for k in ("sampling", "training"))
        print(f"  time openft / {name}: {times}")
    print("per step, sampling/grading/training s and mean completion tokens:")
    for name, run in runs.items():
        cells = "  ".join(
            f"{s['sampling']:.1f}/{s['grading']:.3f}/{s['training']:.1f} {s['tokens']:.0f}t"
            for s in run["steps"]
        )
        print(f"  {name:26}{cells}")


def header(argv: list[str]) -> str:
    git = ["git", "rev-parse", "--short", "HEAD"]
    commit = subprocess.run(git, check=False, cwd=ROOT, capture_output=True, text=True)
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    load = os.getloadavg()[0]
    return (
        f"# bench/rft_throughput.py on {cpu}, {os.cpu_count()} cores (load {load:.1f} at start), "
        f"commit {commit.stdout.strip()}, {datetime.date.today()}\n# command: {' '.join(argv)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=8, help="prompts per step (openft batch_size)")
    parser.add_argument("--generations", type=int, default=4, help="samples per prompt (num_generations)")
    parser.add_argument("--steps", type=int, default=4, help="optimizer steps")
    parser.add_argument("--completion-tokens", type=int, default=48, help="max_completion_length")
    parser.add_argument("--grader", choices=["string_check", "python"], default="string_check")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--baselines", default="defaults,matched", help="comma-separated: defaults, matched")
    parser.add_argument("--data-dir", type=Path, help="reuse a data dir holding the built-in model")
    parser.add_argument("--model-path", type=Path, help="a local HF model dir instead of the built-in")
    parser.add_argument("--threads", type=int, help="OMP_NUM_THREADS of both (1 on a loaded machine)")
    parser.add_argument("--profile", type=Path, help="write cProfile stats of each process into this dir")
    parser.add_argument("--baseline", choices=["defaults", "matched"], help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        run_baseline(args)
        return
    if args.prompts * args.steps < 10:  # openft's smallest training file (datasets/job_error.py)
        raise SystemExit("--prompts x --steps must be at least 10: a training file has 10 rows or more")
    if args.completion_tokens < 16:  # rollouts.MIN_COMPLETION_TOKENS: openft refuses a smaller budget
        raise SystemExit("--completion-tokens must be at least 16")
    if args.generations < 2:
        raise SystemExit("--generations: a group-relative advantage needs at least 2 samples per prompt")
    print(header([Path(sys.executable).name, *sys.argv]), flush=True)
    if args.threads:  # a shared CPU: OpenMP teams spin-waiting on descheduled threads stall by 4-6x
        os.environ["OMP_NUM_THREADS"] = str(args.threads)

    from openft.lm.loading import builtin_model_dir

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="openft-bench-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    model_path = args.model_path or builtin_model_dir(data_dir)
    data = data_dir / "rft-bench.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in dataset(args.prompts * args.steps)))

    passed = {"--data": data, "--model-path": model_path, "--seed": args.seed, "--prompts": args.prompts}
    passed |= {"--generations": args.generations, "--steps": args.steps}
    passed |= {"--completion-tokens": args.completion_tokens}
    flags = [str(part) for pair in passed.items() for part in pair]
    variants = [v for v in args.baselines.split(",") if v]
    runs = {}
    for variant in [*variants[:1], "openft", *variants[1:]]:  # openft between the baselines: less drift
        if variant == "openft":
            runs["openft job"] = run_openft(args, data, data_dir, model_path)
            continue
        command = [sys.executable, *profiled(args, f"trl-{variant}"), __file__, "--baseline", variant, *flags]
        run = measured(command, dict(os.environ))
        run.update(json.loads(run["output"].split("BENCH ", 1)[1].splitlines()[0]))
        runs["TRL, GRPOConfig defaults" if variant == "defaults" else "TRL, openft's settings"] = run
    order = [*(name for name in runs if name != "openft job"), "openft job"]
    report(args, {name: runs[name] for name in order})


if __name__ == "__main__":
    main()
