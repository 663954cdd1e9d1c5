"""Serving: base, fine-tuned and checkpoint models answering chat and completions.

This package's ``__init__`` imports nothing. The API imports the pure-Python parts (generation,
stream, engine, tool_calls) at start-up; the engines themselves and everything that needs
torch, transformers or PEFT loads on the first completion request.
"""
