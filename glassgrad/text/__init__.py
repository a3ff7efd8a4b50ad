"""Text: tokenizers, corpora, a labelled classification task and language-model batches.

tok = build_tokenizer("char", pydoc_text()); ids = tok.encode("The if statement")
train, val = split_text(pydoc_text(), 0.1)
task = pydoc_topic_task()            # which documentation chapter a paragraph is from; task.chance_level
for x, y in BPTTBatches(tok.encode(train), batch_size=32, bptt=64): ...
"""

from .classification import TOPIC_GROUPS, LabelledText, pydoc_topic_task, read_labelled, stratified_split
from .corpus import pydoc_text, read_text_corpus, split_text, topic_paragraphs
from .lm_data import BPTTBatches, TokenBlocks, batchify, tokenized_corpus
from .tokenizers import (
    BPETokenizer,
    ByteTokenizer,
    CharTokenizer,
    Tokenizer,
    build_tokenizer,
    load_tokenizer,
    tokenizer_from_dict,
)

__all__ = [
    "BPETokenizer",
    "BPTTBatches",
    "ByteTokenizer",
    "CharTokenizer",
    "LabelledText",
    "TOPIC_GROUPS",
    "TokenBlocks",
    "Tokenizer",
    "batchify",
    "build_tokenizer",
    "load_tokenizer",
    "pydoc_text",
    "pydoc_topic_task",
    "read_labelled",
    "read_text_corpus",
    "split_text",
    "stratified_split",
    "tokenized_corpus",
    "tokenizer_from_dict",
    "topic_paragraphs",
]
