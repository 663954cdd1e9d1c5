"""Random-weight models of the SmolLM2 family's shapes with the built-in model's tokenizer, for the
throughput benchmarks' ``--model-path`` on a machine that cannot fetch the real weights (a lent GPU
machine reaches no hub, and 1.7B weights are far over what a call carries). Throughput does not
depend on the weights; the tokenizer is the real one, so the token counts are the real data's.

    python bench/device/shapes.py --tokenizer DIR --out DIR [--shapes 135M,360M,1.7B]

``--tokenizer``: a directory holding the built-in model's tokenizer files (``bench/device/prepare.sh``
copies them out of the built-in model's cache). Each shape is written to ``OUT/<shape>`` in
bfloat16 (a LoRA job trains on a bfloat16 base on a GPU; a full fine-tune loads float32 masters).
The configurations are those of HuggingFaceTB/SmolLM2-{135M,360M,1.7B}-Instruct.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

LAYOUT = (
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
)
SHAPES = {  # the LAYOUT fields, then rope_theta
    "135M": (576, 1536, 30, 9, 3, 100000.0),
    "360M": (960, 2560, 32, 15, 5, 100000.0),
    "1.7B": (2048, 8192, 24, 32, 32, 130000.0),
}
COMMON = {
    "vocab_size": 49152,
    "max_position_embeddings": 8192,
    "rms_norm_eps": 1e-5,
    "tie_word_embeddings": True,
    "hidden_act": "silu",
    "bos_token_id": 1,
    "eos_token_id": 2,
    "pad_token_id": 2,
}
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
)


def write_shape(name: str, tokenizer_dir: Path, out: Path) -> Path:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    target = out / name
    *sizes, rope_theta = SHAPES[name]
    config = LlamaConfig(**COMMON, **dict(zip(LAYOUT, sizes)), rope_theta=rope_theta, torch_dtype="bfloat16")
    torch.manual_seed(0)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with torch.device(device):
        model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(target)
    AutoTokenizer.from_pretrained(tokenizer_dir).save_pretrained(target)
    return target


def copy_tokenizer(model_dir: Path, target: Path) -> Path:
    """The tokenizer files of ``model_dir`` (the built-in model's cache) into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    for name in TOKENIZER_FILES:
        if (model_dir / name).exists():
            shutil.copy2(model_dir / name, target / name)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokenizer", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--shapes", default=",".join(SHAPES))
    args = parser.parse_args()
    for name in args.shapes.split(","):
        start = time.perf_counter()
        path = write_shape(name, args.tokenizer, args.out)
        print(f"{name}: {path} in {time.perf_counter() - start:.1f} s", flush=True)


if __name__ == "__main__":
    main()
