"""SFT and DPO throughput: a plain TRL script (`SFTTrainer` or `DPOTrainer`) against an openft job,
same data, model and hyperparameters, in one run. Prints tokens per second (of the trainer's own
runtime and of the whole process), MFU, peak memory of each process, the final train loss, and
the ratios.

    .venv/bin/python bench/sft_throughput.py [--method supervised|dpo --examples 32 --epochs 1 --batch-size 8]

The data looks like real chat data: synthetic chats (a quarter of them two exchanges), user turns
of 10-150 words, assistant turns of lognormal length (median 250 words, sigma 0.8, cut at half
the maximum length of 2048 tokens), in the model's real tokenizer; for DPO the last answer is
the chosen one and a second lognormal answer the rejected one (`--context-turns N`: N earlier
exchanges in every prompt, multi-turn preference data). Tokens are real (non-pad) tokens.
MFU counts 6 x parameters FLOPs a token (the usual convention, though LoRA computes no weight
gradients of the base) over the measured FLOP/s of a 2048^3 matmul in the dtype trained.

The baseline is what a user writes by hand: a `messages` dataset handed to SFTTrainer (for DPO,
the same conversations as `prompt`/`chosen`/`rejected` pairs handed to DPOTrainer with beta 0.1)
with the same LoRA settings (r=8, alpha=16, dropout 0.05, all linear layers), learning rate, batch
size, epochs and seed. It runs twice: with the TRL config's defaults (TRL 1.16 turns on activation
checkpointing; its default bf16=True is set to what the device supports, since it refuses to run
on a CPU) and with openft's choice of no activation checkpointing, so the second ratio isolates
the pipelines themselves. openft runs its real job path: the job is created through the API with the
official SDK, then claimed and trained by `python -m openft.train JOB_ID` exactly as a worker does.
Both processes are timed and measured from outside (wall time, peak RSS via wait4) and report the
trainer's own `train_runtime`. Tokens are the job's `trained_tokens` (for DPO, the prompt read with
each answer).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LORA = {"r": 8, "lora_alpha": 16, "lora_dropout": 0.05, "target_modules": "all-linear"}
LEARNING_RATE = 2e-4
BETA = 0.1
MAX_LENGTH = 2048


VOCABULARY = (
    "the of and to in is that it for on with as was at by be this from or have an are not but had his "
    "they you which one were all we their there can has more been if would will when so what about "
    "out up into them some could time only new other these two may then first any like now my such "
    "over its also most made after did many before must through back years where much way well down "
    "should because each just those people how too state good very make world still own see men work "
    "long get here between both life being under never day same another know while last might us great "
    "old year off come since against go came right used take three river mountain city water light "
    "system answer question model data value number example result method change problem point small"
)
WORDS = VOCABULARY.split()


def words(rng, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def answer_words(rng) -> int:
    """An assistant turn's length: lognormal, median 250 words, sigma 0.8, cut at half the maximum
    length (each word of this vocabulary is one SmolLM2 token)."""
    return max(1, min(round(rng.lognormvariate(math.log(250), 0.8)), MAX_LENGTH // 2))


def chat(rng, turns: int) -> list[dict]:
    messages = [{"role": "system", "content": "You are a helpful assistant."}]
    for _ in range(turns):
        messages.append({"role": "user", "content": words(rng, rng.randint(10, 150))})
        messages.append({"role": "assistant", "content": words(rng, answer_words(rng))})
    return messages


def dataset(n: int, seed: int = 0) -> list[dict]:
    """``n`` synthetic chats shaped like real ones: one exchange, or two for a quarter of them;
    user turns of 10-150 words, assistant turns of lognormal length."""
    rng = random.Random(seed)
    return [{"messages": chat(rng, 2 if rng.random() < 0.25 else 1)} for _ in range(n)]


def preference_dataset(n: int, seed: int = 0, context_turns: int | None = None) -> list[dict]:
    """Preference pairs on the same shape: the conversation up to its last user turn, then two
    answers of independent lognormal lengths. With ``context_turns`` every conversation has that
    many exchanges before the answered one (multi-turn preference data: long shared prompts)."""
    rng = random.Random(seed)
    rows = []
    if context_turns is None:
        chats = dataset(n, seed)
    else:
        chats = [{"messages": chat(rng, context_turns + 1)} for _ in range(n)]
    for row in chats:
        rejected = {"role": "assistant", "content": words(rng, answer_words(rng))}
        rows.append(
            {
                "input": {"messages": row["messages"][:-1]},
                "preferred_output": row["messages"][-1:],
                "non_preferred_output": [rejected],
            }
        )
    return rows


def trl_trainer(args, model, tokenizer, rows: list[dict], common: dict, lora):
    """SFTTrainer on `messages` rows, or DPOTrainer on them rewritten as TRL's prompt/chosen/rejected."""
    from trl import DPOConfig, DPOTrainer, SFTConfig, SFTTrainer

    from datasets import Dataset

    if args.method == "dpo":
        pairs = [
            {
                "prompt": r["input"]["messages"],
                "chosen": r["preferred_output"],
                "rejected": r["non_preferred_output"],
            }
            for r in rows
        ]
        return DPOTrainer(
            model=model,
            args=DPOConfig(**common, beta=BETA, max_length=MAX_LENGTH),
            train_dataset=Dataset.from_list(pairs),
            processing_class=tokenizer,
            peft_config=lora,
        )
    return SFTTrainer(
        model=model,
        args=SFTConfig(**common, max_length=MAX_LENGTH),
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=lora,
    )


def run_baseline(args) -> None:
    """The hand-written TRL script (runs in its own process)."""
    import torch
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer

    rows = [json.loads(line) for line in Path(args.data).read_text().splitlines()]
    tokenizer = AutoTokenizer.from_pretrained(args.model_path)
    model = AutoModelForCausalLM.from_pretrained(args.model_path, dtype=torch.float32)
    on_gpu = torch.cuda.is_available()
    tuned = {
        "bf16": on_gpu and torch.cuda.is_bf16_supported()
    }  # TRL's default bf16=True refuses to run on a CPU
    if args.baseline == "matched":  # the checkpointing openft picks, so only the pipelines differ
        tuned["activation_checkpointing"] = False
    common = dict(
        output_dir=tempfile.mkdtemp(),
        per_device_train_batch_size=args.batch_size,
        num_train_epochs=args.epochs,
        learning_rate=LEARNING_RATE,
        seed=args.seed,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        **tuned,
    )
    trainer = trl_trainer(args, model, tokenizer, rows, common, LoraConfig(task_type="CAUSAL_LM", **LORA))
    output = trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    figures = {"train_runtime": output.metrics["train_runtime"], "final_loss": losses[-1]}
    print("BENCH " + json.dumps(figures), flush=True)


def measured(command: list[str], env: dict, *, may_fail: bool = False) -> dict:
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if may_fail:  # out of memory, the kernel kills this process before any other of a shared machine
        Path(f"/proc/{process.pid}/oom_score_adj").write_text("1000")
    output_chunks = []
    for line in process.stdout:
        output_chunks.append(line)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    output = "".join(output_chunks)
    if status != 0 and may_fail:  # a baseline that runs out of memory is a result too
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == 9
        reason = "killed (out of memory)" if killed else f"failed (exit status {status >> 8})"
        return {"failed": reason, "wall": wall, "peak_rss_mb": usage.ru_maxrss / 1024, "output": output}
    if status != 0:
        raise SystemExit(f"{command} failed:\n{output[-4000:]}")
    return {"wall": wall, "peak_rss_mb": usage.ru_maxrss / 1024, "output": output}


def run_openft(
    args, data: Path, data_dir: Path, model_path: Path, compute_dtype: str = "auto"
) -> tuple[dict, int]:
    sys.path.insert(0, str(ROOT / "tests"))
    from openai import OpenAI

    from openft import queue
    from openft.config import BUILTIN_MODEL, SETTINGS_ENV, BaseModelConfig, Settings
    from openft.trainers import training_env
    from support.server import RunningServer

    source = "builtin" if args.model_path is None else str(model_path)
    settings = Settings(
        data_dir=data_dir,
        embedded_worker=False,
        validator_poll_seconds=0.1,
        base_models={BUILTIN_MODEL: BaseModelConfig(source=source)},
        compute_dtype=compute_dtype,
    )
    server = RunningServer(settings).start()
    try:
        with OpenAI(base_url=server.url, api_key="bench") as client:
            file_id = client.files.create(file=data.open("rb"), purpose="fine-tune").id
            hyper = {"n_epochs": args.epochs, "batch_size": args.batch_size, "learning_rate_multiplier": 1.0}
            hyper.update({"beta": BETA} if args.method == "dpo" else {})
            job = client.fine_tuning.jobs.create(
                model="SmolLM2-135M-Instruct",
                training_file=file_id,
                seed=args.seed,
                method={"type": args.method, args.method: {"hyperparameters": hyper}},
            )
            while (validated := client.fine_tuning.jobs.retrieve(job.id)).status == "validating_files":
                time.sleep(0.1)
            if validated.status != "queued":  # e.g. fewer than the 10 examples a job needs
                raise SystemExit(f"the openft job did not validate: {validated.error}")
            assert queue.claim(server.services.db, worker_id="bench").id == job.id
            env = {
                **training_env(os.environ),  # as a worker starts it
                SETTINGS_ENV: settings.for_training_process(data_dir, settings.resolved_database_url),
            }
            result = measured([sys.executable, "-m", "openft.train", job.id], env)
            done = client.fine_tuning.jobs.retrieve(job.id)
            assert done.status == "succeeded", done.error
            log = data_dir / "jobs" / job.id / "train.log"
            text = result["output"] + (log.read_text() if log.exists() else "")
            result["train_runtime"] = float(re.findall(r"'train_runtime': '?([0-9.]+)", text)[-1])
            result["final_loss"] = final_loss(client, job.id)
            result["events"] = [e.message for e in client.fine_tuning.jobs.list_events(job.id, limit=100)]
    finally:
        server.stop()
    return result, done.trained_tokens


def numerics_event(run: dict) -> str:
    """The openft job's event naming the device and dtype that trained it."""
    return next((m for m in run["events"] if m.startswith("Training on ")), "no numerics event")


def trained_dtype(run: dict) -> str:
    return "bfloat16" if ") in bfloat16" in numerics_event(run) else "float32"


def final_loss(client, job_id: str) -> float:
    events = client.fine_tuning.jobs.list_events(job_id, limit=1000).data
    steps = [e.data for e in events if e.type == "metrics" and e.data]
    return float(max(steps, key=lambda data: data["step"])["train_loss"])


def n_parameters(model_path: Path) -> int:
    """The model's parameters (tied embeddings once), read from its safetensors headers."""
    from safetensors import safe_open

    total = 0
    for path in sorted(Path(model_path).glob("*.safetensors")):
        with safe_open(str(path), framework="pt") as weights:
            total += sum(math.prod(weights.get_slice(name).get_shape()) for name in weights.keys())  # noqa: SIM118
    return total


def matmul_peak(dtype_name: str) -> float:
    """FLOP/s of a 2048x2048 matmul on the device in the dtype trained: the MFU's peak here."""
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = getattr(torch, dtype_name)
    a = torch.randn(2048, 2048, device=device, dtype=dtype)
    b = torch.randn(2048, 2048, device=device, dtype=dtype)
    for _ in range(2):
        a @ b
    repeats = 50 if device == "cuda" else 5
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    if device == "cuda":
        torch.cuda.synchronize()
    return 2 * 2048**3 * repeats / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", choices=["supervised", "dpo"], default="supervised")
    parser.add_argument("--examples", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="reuse a data dir holding the built-in model cache"
    )
    parser.add_argument(
        "--baselines",
        default="defaults,matched",
        help="the TRL runs to time, comma-separated: defaults, matched (matched needs ~23 GB on CPU)",
    )
    parser.add_argument(
        "--no-float32-twin",
        action="store_true",
        help="when openft trains in bfloat16, skip its float32 run (the final-loss comparison)",
    )
    parser.add_argument(
        "--context-turns",
        type=int,
        default=None,
        help="DPO: every prompt holds this many earlier exchanges (long shared prompts)",
    )
    parser.add_argument("--baseline", choices=["defaults", "matched"], help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument(
        "--model-path", type=Path, help="a local model dir for both runs instead of the built-in model"
    )
    args = parser.parse_args()
    if args.baseline:
        run_baseline(args)
        return

    from openft.lm.loading import builtin_model_dir

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="openft-bench-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    model_path = args.model_path or builtin_model_dir(data_dir)
    data = data_dir / "bench.jsonl"
    if args.method == "dpo":
        rows = preference_dataset(args.examples, context_turns=args.context_turns)
    else:
        rows = dataset(args.examples)
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))

    baselines = {}
    for variant in filter(None, args.baselines.split(",")):
        run = measured(
            [
                sys.executable,
                __file__,
                "--baseline",
                variant,
                "--method",
                args.method,
                "--data",
                str(data),
                "--model-path",
                str(model_path),
                "--epochs",
                str(args.epochs),
                "--batch-size",
                str(args.batch_size),
                "--seed",
                str(args.seed),
            ],
            dict(os.environ),
            may_fail=True,
        )
        if "failed" not in run:
            run.update(json.loads(run["output"].split("BENCH ", 1)[1].splitlines()[0]))
        baselines[variant] = run
    ours, tokens = run_openft(args, data, data_dir, model_path)
    twin = None
    if not args.no_float32_twin and trained_dtype(ours) == "bfloat16":
        twin, _ = run_openft(args, data, data_dir, model_path, compute_dtype="float32")

    runs = (*baselines.items(), ("openft", ours), *((("openft float32", twin),) if twin else ()))
    for name, run in runs:  # the raw figures, before any arithmetic
        print(
            "RUN "
            + json.dumps({"run": name, "tokens": tokens, **{k: v for k, v in run.items() if k != "output"}})
        )
    report(args, baselines, ours, twin, tokens, model_path)


def report(args, baselines: dict, ours: dict, twin: dict | None, tokens: int, model_path: Path) -> None:
    import torch

    from openft.lm import numerics as chosen_numerics

    chosen = chosen_numerics.choose()  # the machine as the job's numerics name it
    device = f"{chosen.device.upper()} ({chosen.hardware}, {os.cpu_count()} cores, {platform.machine()})"
    numerics = numerics_event(ours)
    dtype = trained_dtype(ours)
    peak, params = matmul_peak(dtype), n_parameters(model_path)
    print(
        f"device: {device}; torch {torch.__version__}; {args.method}: {args.examples} examples "
        f"x {args.epochs} epoch(s), batch {args.batch_size}; real (non-pad) tokens {tokens}"
    )
    print(f"openft job event: {numerics}")
    for kernels in (m for m in ours["events"] if "fused kernels" in m):  # on a GPU only
        print(f"openft job event: {kernels}")
    print(f"MFU: 6 x {params / 1e6:.0f}M parameters a token over a {dtype} matmul's {peak / 1e9:.0f} GFLOP/s")
    print(
        f"{'':24}{'train tok/s':>12}{'process tok/s':>15}{'train s':>9}{'process s':>11}"
        f"{'MFU':>7}{'peak RSS MB':>13}{'final loss':>12}"
    )
    config = "DPOConfig" if args.method == "dpo" else "SFTConfig"
    labels = {"defaults": f"TRL, {config} defaults", "matched": "TRL, openft's settings"}
    rows = [(labels[variant], run) for variant, run in baselines.items()] + [(f"openft job, {dtype}", ours)]
    rows += [("openft job, float32", twin)] if twin else []
    for name, run in rows:
        if "failed" in run:
            print(f"{name:24}{run['failed']} after {run['wall']:.0f} s at {run['peak_rss_mb']:.0f} MB RSS")
            continue
        rate = tokens / run["train_runtime"]
        print(
            f"{name:24}{rate:12.1f}{tokens / run['wall']:15.1f}"
            f"{run['train_runtime']:9.1f}{run['wall']:11.1f}{6 * params * rate / peak:7.1%}"
            f"{run['peak_rss_mb']:13.0f}{run['final_loss']:12.4f}"
        )
    if twin:
        print(
            "openft bfloat16 / float32: train throughput "
            f"{twin['train_runtime'] / ours['train_runtime']:.2f}x, "
            f"peak memory {ours['peak_rss_mb'] / twin['peak_rss_mb']:.2f}x, final loss "
            f"{ours['final_loss']:.4f} vs {twin['final_loss']:.4f} "
            f"({abs(ours['final_loss'] / twin['final_loss'] - 1):.2%} apart)"
        )
    for variant, label in (("defaults", "TRL defaults"), ("matched", "TRL with openft's settings")):
        base = baselines.get(variant)
        if base is None or "failed" in base:
            continue
        print(
            f"ratio openft / {label}: train throughput {base['train_runtime'] / ours['train_runtime']:.2f}x, "
            f"process throughput {base['wall'] / ours['wall']:.2f}x, "
            f"peak memory {ours['peak_rss_mb'] / base['peak_rss_mb']:.2f}x"
        )


if __name__ == "__main__":
    main()
