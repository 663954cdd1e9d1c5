"""The language model layer that training and serving share: loading a causal LM (the built-in
model included) with a safe pad token, its end-of-turn tokens and sequence limit (loading.py), and
OpenAI chat messages rendered through its chat template (conversation.py).

This package's ``__init__`` imports nothing; ``loading`` needs torch and transformers,
``conversation`` is pure text.
"""
