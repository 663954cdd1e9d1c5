"""Training: supervised fine-tuning, DPO and reinforcement fine-tuning with transformers, PEFT and TRL.

This package's ``__init__`` imports nothing, so that the API process can import
``openft.train.hparams`` (pure Python) without loading torch. The modules that need the
ML stack (models, sft, callbacks, ...) import it themselves.
"""
