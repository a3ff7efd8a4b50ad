"""Whole models with loaders for the ecosystem's checkpoints: ``models.gpt2`` (GPT-2 / the gpt recipe's
decoder) and ``models.bert`` (BERT encoder and classifier), reading Hugging Face ``config.json`` +
``model.safetensors`` through ``models.hf_checkpoint``; ``models.sampling`` draws the tokens of generate."""
