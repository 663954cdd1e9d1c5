"""Model sources, the built-in model's cache, and the pad-token fix."""

import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("trl")

from openft.lm import loading
from openft.lm.loading import (
    builtin_model_dir,
    fix_pad_token,
    load_model_and_tokenizer,
    resolve_model_path,
)

pytestmark = pytest.mark.train


def test_builtin_names_resolve_to_the_cache_and_others_pass_through(builtin_dir, data_dir):
    assert resolve_model_path("builtin", data_dir) == str(builtin_dir)
    assert resolve_model_path("SmolLM2-135M-Instruct", data_dir) == str(builtin_dir)
    assert resolve_model_path("Qwen/Qwen2.5-0.5B", data_dir) == "Qwen/Qwen2.5-0.5B"
    assert resolve_model_path("/srv/models/mine", data_dir) == "/srv/models/mine"
    assert builtin_dir == data_dir / "models" / "SmolLM2-135M-Instruct"
    assert {"config.json", "model.safetensors", "tokenizer.json", "generation_config.json"} <= {
        p.name for p in builtin_dir.iterdir()
    }


def test_concurrent_first_uses_convert_into_one_complete_directory(tmp_path, monkeypatch):
    calls = []

    def slow_convert(gguf_path: Path, out_dir: Path) -> None:
        calls.append(out_dir)
        (out_dir / "model.safetensors").write_text(str(out_dir))
        time.sleep(0.2)
        (out_dir / "config.json").write_text("{}")

    monkeypatch.setattr(loading, "convert_gguf", slow_convert)
    results = []
    threads = [threading.Thread(target=lambda: results.append(builtin_model_dir(tmp_path))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    target = tmp_path / "models" / "SmolLM2-135M-Instruct"
    assert results == [target] * 3 and len(calls) == 3
    assert sorted(p.name for p in target.iterdir()) == ["config.json", "model.safetensors"]
    assert [p.name for p in target.parent.iterdir()] == ["SmolLM2-135M-Instruct"]  # no scratch left
    assert builtin_model_dir(tmp_path) == target and len(calls) == 3  # cached afterwards


def test_loading_gives_a_pad_token_that_is_not_end_of_turn(tiny_model_dir, tokenizer):
    assert tokenizer.pad_token == "<|im_end|>"  # the trap, as shipped
    model, fixed = load_model_and_tokenizer(tiny_model_dir)
    assert fixed.pad_token == "<|endoftext|>"
    assert fixed.pad_token_id != fixed.eos_token_id
    assert model.config.pad_token_id == model.generation_config.pad_token_id == fixed.pad_token_id


def test_a_tokenizer_without_a_spare_special_token_gets_a_new_pad_token(tiny_model_dir):
    model, tokenizer = load_model_and_tokenizer(tiny_model_dir)
    tokenizer.pad_token = tokenizer.eos_token
    tokenizer.unk_token = tokenizer.eos_token
    tokenizer.chat_template += "".join(str(t) for t in tokenizer.added_tokens_decoder.values())
    fix_pad_token(tokenizer, model)
    assert tokenizer.pad_token == "<|pad|>"
    assert model.get_input_embeddings().weight.shape[0] == len(tokenizer)


@pytest.mark.e2e
def test_the_builtin_model_knows_the_capital_of_france(builtin_dir):
    model, tokenizer = load_model_and_tokenizer(builtin_dir)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        add_generation_prompt=True,
        return_tensors="pt",
    )
    output = model.generate(**prompt, max_new_tokens=12, do_sample=False)
    assert "Paris" in tokenizer.decode(output[0, prompt["input_ids"].shape[1] :])
