"""Graders: gradings per second of every grader type on a fixed set of samples, the python
grader's start-up latency, and the sandbox's overhead against the same function in-process.

    .venv/bin/python bench/graders.py [--samples 40 --repeats 5 --no-cosine --with-models --data-dir DIR]

Everything runs through `openft.graders.grade` (the path the API and the trainer take) in one
process. Baselines, measured in the same run: `string_check` for the per-type table (each row
is also shown as a ratio to it); for start-up, a bare `python -I -S -c pass` spawned with
subprocess; for the sandbox, the grader's own `grade` function called in this process. Model
graders (score_model / label_model on the built-in model through the server's engine) take
seconds per grading on a CPU and run only with --with-models (the model must be cached in
--data-dir, as the tests leave it in .pytest_cache/d/openft-train-data).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from openft.graders.context import GradeContext  # noqa: E402
from openft.graders.dispatch import grade  # noqa: E402
from openft.graders.sample import sample_from_text  # noqa: E402
from openft.graders.sandbox import Sandbox  # noqa: E402
from openft.schemas.graders import parse_grader  # noqa: E402

WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "a",
    "lazy",
    "dog",
    "while",
    "seven",
    "wizards",
    "quietly",
    "hex",
    "bold",
    "jumbo",
    "vexing",
    "zebras",
]
METRICS = [
    "fuzzy_match",
    "bleu",
    "gleu",
    "meteor",
    "rouge_1",
    "rouge_2",
    "rouge_3",
    "rouge_4",
    "rouge_5",
    "rouge_l",
    "cosine",
]
EDIT_DISTANCE = """
def grade(sample, item):
    a, b = sample["output_text"], item["reference"]
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return 1 - row[-1] / max(len(a), len(b), 1)
"""


def fixed_set(n: int) -> list[tuple[dict, dict]]:
    """n (sample, item) pairs: sentences of 8-16 words against a reference sharing most of them."""
    pairs = []
    for i in range(n):
        length = 8 + i % 9
        reference = " ".join(WORDS[(i + k) % len(WORDS)] for k in range(length))
        output = " ".join(WORDS[(i + k + (k % 4 == 3)) % len(WORDS)] for k in range(length))
        pairs.append((sample_from_text(output), {"reference": reference, "label": reference}))
    return pairs


def graders(no_cosine: bool, with_models: bool) -> dict[str, dict]:
    text = {"input": "{{sample.output_text}}", "reference": "{{item.reference}}"}
    out = {"string_check": {"type": "string_check", "name": "s", "operation": "ilike", **text}}
    for metric in METRICS:
        if metric != "cosine" or not no_cosine:
            out[f"text_similarity/{metric}"] = {
                "type": "text_similarity",
                "name": "t",
                "evaluation_metric": metric,
                **text,
            }
    out["python/bwrap"] = out["python/process"] = {"type": "python", "name": "p", "source": EDIT_DISTANCE}
    out["multi"] = {
        "type": "multi",
        "name": "m",
        "calculate_output": "0.5 * a + 0.5 * b",
        "graders": {"a": out["string_check"], "b": out["text_similarity/fuzzy_match"]},
    }
    if with_models:
        ask = [
            {
                "role": "user",
                "content": "Reference: {{item.reference}}\nAnswer: {{sample.output_text}}\nScore 0-1.",
            }
        ]
        out["score_model"] = {
            "type": "score_model",
            "name": "j",
            "model": "gpt-4o-mini",
            "input": ask,
            "sampling_params": {"temperature": 0, "max_completions_tokens": 300},
        }
        out["label_model"] = {
            "type": "label_model",
            "name": "l",
            "model": "gpt-4o-mini",
            "input": ask,
            "labels": ["good", "bad"],
            "passing_labels": ["good"],
        }
    return out


def model_context(data_dir: Path) -> GradeContext:
    from openft.catalog import Catalog
    from openft.config import Settings
    from openft.serve.engine import LazyEngine
    from openft.serve.grader_client import EngineModelClient
    from openft.storage import Storage

    settings = Settings(data_dir=data_dir)
    catalog, engine = Catalog(settings, Storage(data_dir)), LazyEngine(settings)
    client = EngineModelClient(
        lambda name: catalog.locate(None, project_id="bench", name=name),
        engine.get,
        lambda name: catalog.resolve(name).shown,
    )
    return GradeContext(models=client)


def rate(
    grader, pairs, context: GradeContext, limit: int | None = None, min_seconds: float = 1.0
) -> tuple[float, int]:
    """(gradings per second, errors): passes over the set until min_seconds have gone by, after one
    warm-up grading (lazy imports, model loading); `limit` samples, one pass, for model graders."""
    pairs = pairs[:limit] if limit else pairs
    grade(grader, *pairs[0], context=context)
    errors, count, start = 0, 0, time.perf_counter()
    while count == 0 or (not limit and time.perf_counter() - start < min_seconds):
        for sample, item in pairs:
            errors += grade(grader, sample, item, context=context).errors.any
        count += len(pairs)
    return count / (time.perf_counter() - start), errors


def median_seconds(action, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def throughput_table(args, pairs, sandboxes) -> None:
    contexts = {
        "bwrap": GradeContext(sandbox=sandboxes["bwrap"]),
        "process": GradeContext(sandbox=sandboxes["process"]),
    }
    models = model_context(args.data_dir) if args.with_models else None
    print(f"\ngradings per second ({len(pairs)} samples of 8-16 words; model graders: {args.model_samples})")
    baseline = None
    for name, wire in graders(args.no_cosine, args.with_models).items():
        context = contexts.get(name.split("/")[-1], contexts["bwrap"])
        if name.endswith("_model"):
            context = models
        per_second, errors = rate(
            parse_grader(wire), pairs, context, args.model_samples if name.endswith("_model") else None
        )
        baseline = baseline or per_second
        print(
            f"  {name:28}{per_second:12.2f}/s   x{per_second / baseline:8.4f} of string_check"
            f"   errors {errors}"
        )


def startup_and_overhead(args, pairs, sandboxes) -> None:
    bare = median_seconds(
        lambda: subprocess.run([sys.executable, "-I", "-S", "-c", "pass"], check=True), args.repeats
    )
    print(f"\npython grader start-up (median of {args.repeats}; a trivial grade() returning 1.0)")
    print(f"  {'bare python -I -S -c pass':28}{bare * 1000:9.1f} ms   (baseline)")
    trivial = parse_grader({"type": "python", "name": "p", "source": "def grade(s, i):\n    return 1.0\n"})
    for mode, sandbox in sandboxes.items():
        context = GradeContext(sandbox=sandbox)
        seconds = median_seconds(lambda c=context: grade(trivial, *pairs[0], context=c), args.repeats)
        print(f"  {'sandbox ' + mode:28}{seconds * 1000:9.1f} ms   x{seconds / bare:.2f} of bare python")
    namespace: dict = {}
    exec(compile(EDIT_DISTANCE, "grader.py", "exec"), namespace)
    in_process = median_seconds(lambda: [namespace["grade"](s, i) for s, i in pairs], args.repeats) / len(
        pairs
    )
    editing = parse_grader({"type": "python", "name": "p", "source": EDIT_DISTANCE})
    print(f"\nsandbox overhead per grading (edit-distance grader over the {len(pairs)} samples)")
    print(f"  {'in-process grade()':28}{in_process * 1000:9.3f} ms   (baseline)")
    for mode, sandbox in sandboxes.items():
        context = GradeContext(sandbox=sandbox)
        seconds = median_seconds(
            lambda c=context: [grade(editing, s, i, context=c) for s, i in pairs], 1
        ) / len(pairs)
        print(
            f"  {'sandbox ' + mode:28}{seconds * 1000:9.3f} ms   x{seconds / in_process:.0f} of in-process, "
            f"+{(seconds - in_process) * 1000:.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-cosine", action="store_true", help="skip the embedding model (loads torch)")
    parser.add_argument(
        "--with-models", action="store_true", help="also score_model / label_model on the built-in model"
    )
    parser.add_argument("--model-samples", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".pytest_cache/d/openft-train-data")
    args = parser.parse_args()
    sandboxes = {"bwrap": Sandbox("bwrap"), "process": Sandbox("process")}
    load = os.getloadavg()[0]
    print(
        f"machine: {platform.node()}, {os.cpu_count()} CPUs, load {load:.1f}; "
        f"python {platform.python_version()}; "
        f"sandbox modes: bwrap ({'ok' if _usable(sandboxes['bwrap']) else 'unusable'}), process"
    )
    if not _usable(sandboxes["bwrap"]):
        sandboxes.pop("bwrap")
    pairs = fixed_set(args.samples)
    throughput_table(args, pairs, {**sandboxes, "bwrap": sandboxes.get("bwrap", sandboxes["process"])})
    startup_and_overhead(args, pairs, sandboxes)


def _usable(sandbox: Sandbox) -> bool:
    try:
        return bool(sandbox.mode)
    except Exception:  # reported on the first line
        return False


if __name__ == "__main__":
    main()
