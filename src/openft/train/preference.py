"""Preference: DPO examples (input, preferred_output, non_preferred_output) as token ids.

Both answers are rendered after the input conversation through the same chat rendering as SFT
(conversation.py: tools folded in where the template knows none, content parts flattened), so
the prompt the model learns from is the one it is served with. An example is ``{"prompt_ids",
"chosen_ids", "rejected_ids"}``: the conversation up to and including the assistant header,
then each answer up to and including its end-of-turn token (the layout TRL's DPO collator
takes). Pairs longer than ``max_length`` are cut from the end, as OpenAI does, and counted.
No torch here.
"""

from bisect import bisect_left

from openft.lm import conversation
from openft.train.data import TokenizedData


def tokenize_preferences(rows: list[dict], tokenizer, *, max_length: int) -> TokenizedData:
    """Every preference row tokenized and cut to ``max_length`` tokens per answered sequence."""
    pairs = [tokenize_preference(row, tokenizer) for row in rows]
    n_truncated = sum(longest(pair) > max_length for pair in pairs)
    pairs = [truncate_pair(pair, max_length) for pair in pairs]
    return TokenizedData(pairs, n_truncated, sum(tokens_read(pair) for pair in pairs))


def tokenize_preference(row: dict, tokenizer) -> dict:
    """One pair: the shared prompt, then the preferred and the non-preferred answer."""
    source = row["input"]
    prompt_ids, chosen_ids = split_answer(tokenizer, source, row["preferred_output"][0])
    _, rejected_ids = split_answer(tokenizer, source, row["non_preferred_output"][0])
    return {"prompt_ids": prompt_ids, "chosen_ids": chosen_ids, "rejected_ids": rejected_ids}


def split_answer(tokenizer, source: dict, answer: dict) -> tuple[list[int], list[int]]:
    """Token ids of the conversation before ``answer`` (its header included), and of the answer.

    The whole text is tokenized at once, as SFT does, and split where the answer's characters start.
    """
    template = tokenizer.chat_template or ""
    messages, tools = conversation.normalize([*source["messages"], answer], source.get("tools"), template)
    text, spans = conversation.assistant_spans(tokenizer, messages, tools)
    _, start, end = spans[-1]
    encoding = tokenizer(text[:end], add_special_tokens=False, return_offsets_mapping=True)
    cut = bisect_left([lo for lo, _ in encoding["offset_mapping"]], start)
    ids = list(encoding["input_ids"])
    return ids[:cut], ids[cut:]


def truncate_pair(pair: dict, max_length: int) -> dict:
    """Prompt + answer cut to ``max_length`` tokens from the end, for both answers."""
    prompt = pair["prompt_ids"][:max_length]
    room = max_length - len(prompt)
    return {
        "prompt_ids": prompt,
        "chosen_ids": pair["chosen_ids"][:room],
        "rejected_ids": pair["rejected_ids"][:room],
    }


def longest(pair: dict) -> int:
    return len(pair["prompt_ids"]) + max(len(pair["chosen_ids"]), len(pair["rejected_ids"]))


def tokens_read(pair: dict) -> int:
    """Tokens the model reads for one pair: the prompt with each answer."""
    return 2 * len(pair["prompt_ids"]) + len(pair["chosen_ids"]) + len(pair["rejected_ids"])
