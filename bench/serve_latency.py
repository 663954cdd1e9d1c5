"""Serve latency: time to first token (TTFT) and tokens per second of the built-in model and of a
LoRA adapter on it, through openft's /v1/chat/completions against plain `transformers.generate`,
same prompts, greedy, in one process and one run.

    .venv/bin/python bench/serve_latency.py [--max-tokens 64 --repeats 3 --concurrency 8 --data-dir DIR]

The baseline is what a user writes by hand: the model loaded with `from_pretrained` (wrapped with
`PeftModel` for the adapter) and `generate(do_sample=False)` with a `TextIteratorStreamer`, one
request at a time, alternating with openft's request for the same prompt. openft runs
its real path: a server with the official SDK streaming the answer over HTTP (SSE), so its TTFT
includes HTTP, the chat template and scheduling. The adapter is an untrained LoRA of the shape a
job produces (r=8, alpha 16, all linear layers; B=0, so answers match the base model's), or
`--adapter DIR`. Last, `--concurrency` requests at once (half base, half adapter) against the
same requests run one after another with `generate`: aggregate tokens per second. Both sides
use the same number of torch threads (`--threads`, default the engine's: one per core but one),
the same device and dtype, numerics.py's choice as the engine loads it (bfloat16 on a GPU or a CPU
with native bfloat16, float32 elsewhere; OPENFT_COMPUTE_DTYPE overrides both).

Memory: the weights each side holds to serve both models (`generate` needs a second copy of the
base under the adapter, openft swaps the adapter on its one base, and on a CPU in bfloat16 holds
a packed copy of its linear weights, lm/packed_linear.py) and, on a GPU, the peak of
allocated memory above the weights while each side runs the concurrent requests.
`--model-path DIR` serves a local model dir (config, tokenizer, safetensors) instead of the
built-in GGUF, e.g. the same architecture with random weights on a machine that cannot carry it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ADAPTER_MODEL = "ft:SmolLM2-135M-Instruct:openft:bench:Bench001"
PROMPTS = [
    "Write a short story about a lighthouse keeper.",
    "Explain how a bicycle stays upright.",
    "Describe a walk through a rainy city.",
    "List some ideas for a birthday party.",
]


def make_adapter(model_path: str, out: Path) -> Path:
    from peft import LoraConfig, get_peft_model

    from openft.lm.loading import load_model_and_tokenizer

    model, tokenizer = load_model_and_tokenizer(model_path)
    config = LoraConfig(
        r=8, lora_alpha=16, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM"
    )
    get_peft_model(model, config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def plain_model(path: str, dtype):
    """The model as a user loads it by hand (openft's loader also mends the frozen LM head's
    matrix product, lm/head_input.py), with openft's pad token so that both sides see one tokenizer."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from openft.lm.loading import fix_pad_token

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    fix_pad_token(tokenizer, model)
    return model, tokenizer


def baseline_run(model, tokenizer, prompt: str, max_tokens: int) -> dict:
    import torch
    from transformers import TextIteratorStreamer

    messages = [{"role": "user", "content": prompt}]
    inputs = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    inputs = {key: value.to(model.device) for key, value in inputs.items()}
    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
    result = {}

    def generate():
        with torch.inference_mode():
            result["ids"] = model.generate(
                **inputs,
                max_new_tokens=max_tokens,
                do_sample=False,
                streamer=streamer,
                pad_token_id=tokenizer.pad_token_id,
            )

    start = time.perf_counter()
    thread = threading.Thread(target=generate)
    thread.start()
    ttft, text = None, ""
    for piece in streamer:
        if piece and ttft is None:
            ttft = time.perf_counter() - start
        text += piece
    thread.join()
    total = time.perf_counter() - start
    tokens = result["ids"].shape[1] - inputs["input_ids"].shape[1]
    return {"ttft": ttft, "total": total, "tokens": tokens, "text": text}


def openft_run(client, model: str, prompt: str, max_tokens: int) -> dict:
    start = time.perf_counter()
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": prompt}],
        max_tokens=max_tokens,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    ttft, text, tokens = None, "", 0
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            ttft = ttft if ttft is not None else time.perf_counter() - start
            text += chunk.choices[0].delta.content
        if chunk.usage:
            tokens = chunk.usage.completion_tokens
    return {"ttft": ttft, "total": time.perf_counter() - start, "tokens": tokens, "text": text}


def summary(runs: list[dict]) -> dict:
    return {
        "ttft": statistics.median(r["ttft"] for r in runs),
        "tok_s": sum(r["tokens"] for r in runs) / sum(r["total"] for r in runs),
        "decode_tok_s": sum(r["tokens"] - 1 for r in runs) / sum(r["total"] - r["ttft"] for r in runs),
        "tokens": sum(r["tokens"] for r in runs) / len(runs),
        "texts": [r["text"] for r in runs],
    }


def timed(repeats: int, plain, ours) -> tuple[list[dict], list[dict]]:
    """Both sides' runs, alternated request by request (the machine's drift falls on both alike)."""
    plain(PROMPTS[0]), ours(PROMPTS[0])  # warm-up: loads, first-call costs
    runs = [(plain(prompt), ours(prompt)) for prompt in (PROMPTS[i % len(PROMPTS)] for i in range(repeats))]
    return [p for p, _ in runs], [o for _, o in runs]


def single_requests(args, client, base, tuned, tokenizer) -> dict[str, tuple[dict, dict]]:
    """generate's and openft's summaries, one request at a time, on the base model and the adapter."""
    rows = {}
    for name, model, served in (
        ("base", base, "SmolLM2-135M-Instruct"),
        ("LoRA adapter", tuned, ADAPTER_MODEL),
    ):
        plain_runs, our_runs = timed(
            args.repeats,
            lambda p, m=model: baseline_run(m, tokenizer, p, args.max_tokens),
            lambda p, s=served: openft_run(client, s, p, args.max_tokens),
        )
        rows[name] = (summary(plain_runs), summary(our_runs))
    return rows


def start_server(data_dir: Path, model_path: Path | None, adapter: Path, threads: int):
    import shutil

    sys.path.insert(0, str(ROOT / "tests"))
    from openft.config import BUILTIN_MODEL, BaseModelConfig, Settings
    from openft.store import models as model_store
    from openft.store.tables import ModelRow
    from support.server import RunningServer

    server_dir = Path(tempfile.mkdtemp(prefix="openft-serve-bench-"))
    settings = dict(data_dir=server_dir, embedded_worker=False, serve_cpu_threads=threads)
    if model_path is None:
        (server_dir / "models").symlink_to((data_dir / "models").resolve(), target_is_directory=True)
    else:
        settings["base_models"] = {BUILTIN_MODEL: BaseModelConfig(source=str(model_path))}
    server = RunningServer(Settings(**settings)).start()
    shutil.copytree(adapter, server_dir / "jobs" / "bench" / "final")
    with server.services.db.write() as session:
        model_store.add_model(
            session,
            row=ModelRow(
                id=ADAPTER_MODEL,
                project_id="proj_default",
                owned_by="org-openft",
                job_id="bench",
                created_at=int(time.time()),
                base_model="SmolLM2-135M-Instruct",
                path="jobs/bench/final",
            ),
        )
    return server


def concurrent(
    args, client, base, tuned, tokenizer
) -> tuple[tuple[float, float | None], tuple[float, float | None]]:
    """Aggregate tokens/s and the GPU's working memory: openft serving N requests at once vs
    generate() running them in turn."""
    jobs = [
        (ADAPTER_MODEL if i % 2 else "SmolLM2-135M-Instruct", PROMPTS[i % len(PROMPTS)])
        for i in range(args.concurrency)
    ]
    with working_memory() as ours_memory:
        start = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            runs = list(pool.map(lambda job: openft_run(client, job[0], job[1], args.max_tokens), jobs))
        ours = sum(r["tokens"] for r in runs) / (time.perf_counter() - start)
    with working_memory() as plain_memory:
        start = time.perf_counter()
        runs = [
            baseline_run(tuned if model == ADAPTER_MODEL else base, tokenizer, prompt, args.max_tokens)
            for model, prompt in jobs
        ]
        plain = sum(r["tokens"] for r in runs) / (time.perf_counter() - start)
    return (ours, ours_memory.get("mb")), (plain, plain_memory.get("mb"))


@contextlib.contextmanager
def working_memory():
    """On a GPU: the peak of allocated memory above what was allocated at the start, in MB."""
    import torch

    found: dict = {}
    if not torch.cuda.is_available():
        yield found
        return
    torch.cuda.synchronize()
    at_start = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    yield found
    torch.cuda.synchronize()
    found["mb"] = (torch.cuda.max_memory_allocated() - at_start) / 2**20


def weights_mb(*modules) -> float:
    """Parameters and buffers the modules hold (each tensor counted once)."""
    tensors = {id(t): t for m in modules for t in (*m.parameters(), *m.buffers())}
    return sum(t.numel() * t.element_size() for t in tensors.values()) / 2**20


def commit() -> str:
    head = (ROOT / ".git" / "HEAD").read_text().strip() if (ROOT / ".git" / "HEAD").exists() else "unknown"
    if head.startswith("ref: "):
        ref = ROOT / ".git" / head[5:]
        packed = ROOT / ".git" / "packed-refs"
        if ref.exists():
            return ref.read_text().strip()
        lines = packed.read_text().splitlines() if packed.exists() else []
        return next((line.split()[0] for line in lines if line.endswith(head[5:])), "unknown")
    return head


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="a data dir holding the built-in model cache"
    )
    parser.add_argument(
        "--adapter", type=Path, default=None, help="a LoRA adapter dir for the built-in model"
    )
    parser.add_argument(
        "--threads", type=int, default=0, help="torch threads for both sides (default: the engine's)"
    )
    parser.add_argument(
        "--model-path",
        type=Path,
        default=None,
        help="a local model dir to serve instead of the built-in model",
    )
    args = parser.parse_args()

    import openai
    import torch
    from peft import PeftModel

    from openft.config import Settings
    from openft.lm import numerics, packed_linear
    from openft.lm.loading import builtin_model_dir
    from openft.serve.transformers_engine import engine_threads

    threads = args.threads or engine_threads()
    torch.set_num_threads(threads)

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="openft-bench-"))
    model_path = str(args.model_path or builtin_model_dir(data_dir))
    adapter = args.adapter or make_adapter(
        model_path, Path(tempfile.mkdtemp(prefix="openft-adapter-")) / "adapter"
    )
    chosen = numerics.choose(Settings().compute_dtype)  # as the engine loads
    device, dtype = chosen.device, chosen.torch_dtype
    base, base_tokenizer = plain_model(model_path, dtype)
    tuned_base, _ = plain_model(model_path, dtype)
    base, tuned_base = base.to(device), tuned_base.to(device)
    tuned = PeftModel.from_pretrained(tuned_base, str(adapter)).to(device).eval()
    server = start_server(data_dir, args.model_path, adapter, threads)
    client = openai.OpenAI(base_url=server.url, api_key="sk-bench", max_retries=0)
    try:
        rows = single_requests(args, client, base.eval(), tuned, base_tokenizer)
        (ours_agg, ours_work), (base_agg, base_work) = concurrent(args, client, base, tuned, base_tokenizer)
        engine = server.app.state.engine.get()
        served = [loaded.adapters.module for loaded in engine.pool.bases.values()]
        ours_weights = weights_mb(*served) + sum(map(packed_linear.packed_bytes, served)) / 2**20
        plain_weights = weights_mb(base, tuned)
    finally:
        server.stop()

    card = f"{chosen.device.upper()} ({chosen.hardware}, {os.cpu_count()} cores), {chosen.dtype}"
    print(
        f"machine: {platform.node()}; device: {card}; torch {torch.__version__} with {threads} thread(s); "
        f"commit {commit()}"
    )
    print(
        f"SmolLM2-135M-Instruct, greedy, max {args.max_tokens} tokens, "
        f"{args.repeats} timed requests each after a warm-up"
    )
    print(f"{'':34}{'TTFT ms':>9}{'tok/s':>8}{'decode tok/s':>14}{'tokens':>8}")
    for name, (plain, ours) in rows.items():
        for label, row in ((f"{name}: transformers.generate", plain), (f"{name}: openft SSE", ours)):
            print(
                f"{label:34}{row['ttft'] * 1000:9.0f}{row['tok_s']:8.1f}"
                f"{row['decode_tok_s']:14.1f}{row['tokens']:8.1f}"
            )
        same = "yes" if ours["texts"] == plain["texts"] else "no"
        print(
            f"  ratio openft/generate: TTFT {ours['ttft'] / plain['ttft']:.2f}x, "
            f"tok/s {ours['tok_s'] / plain['tok_s']:.2f}x; same answers: {same}"
        )
    print(
        f"{args.concurrency} concurrent requests (base + adapter): openft {ours_agg:.1f} tok/s, "
        f"generate one at a time {base_agg:.1f} tok/s, ratio {ours_agg / base_agg:.2f}x"
    )
    print(
        f"weights held for base + adapter: openft {ours_weights:.0f} MB (one base, adapter swapped; "
        f"with its packed copies, OPENFT_PACKED_WEIGHTS), "
        f"generate {plain_weights:.0f} MB (two copies), ratio {ours_weights / plain_weights:.2f}x"
    )
    if ours_work is not None:
        print(
            "GPU working memory above the weights, concurrent phase: "
            f"openft {ours_work:.0f} MB, generate {base_work:.0f} MB"
        )


if __name__ == "__main__":
    main()
