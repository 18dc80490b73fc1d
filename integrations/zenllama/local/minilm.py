"""all-MiniLM-L6-v2 (BERT safetensors + tokenizer.json) to GGUF, without torch.

llama.cpp's convert_hf_to_gguf.py needs torch; this does the same for one BERT model with
numpy and the `gguf` package llama.cpp maintains: arch `bert`, the WordPiece vocabulary in
llama.cpp's "phantom space" form, mean pooling, non-causal attention, tensor names from
gguf's own BERT mapping.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import numpy.typing as npt

# Read as float32 whatever the weight type; llama-server aborts if these are not F32.
_ALWAYS_F32 = ("token_types", "position_embd")
# safetensors entries llama.cpp's BERT graph has no use for.
_SKIPPED = ("embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias")


def read_safetensors(path: Path) -> dict[str, npt.NDArray[np.float32]]:
    """The F32 tensors of a safetensors file (a JSON header, then raw little-endian data)."""
    data = np.memmap(path, dtype=np.uint8, mode="r")
    size = int(data[:8].view("<u8")[0])
    header: dict[str, Any] = json.loads(bytes(data[8 : 8 + size]))
    header.pop("__metadata__", None)
    base = 8 + size
    tensors = {}
    for name, info in header.items():
        if name in _SKIPPED:
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: {name} is {info['dtype']}, expected F32")
        start, end = info["data_offsets"]
        raw = data[base + start : base + end].view("<f4")
        tensors[name] = np.asarray(raw, dtype=np.float32).reshape(info["shape"])
    return tensors


def _vocab(tokenizer: dict[str, Any]) -> tuple[list[str], list[int]]:
    vocab: dict[str, int] = tokenizer["model"]["vocab"]
    special = {t["content"] for t in tokenizer["added_tokens"] if t.get("special")}
    tokens = [""] * len(vocab)
    types = [int(gguf.TokenType.NORMAL)] * len(vocab)
    for text, i in vocab.items():
        if text in special:
            tokens[i], types[i] = text, int(gguf.TokenType.CONTROL)
        elif text.startswith("##"):
            tokens[i] = text[2:]  # a word continuation
        else:
            tokens[i] = "\u2581" + text  # a word start, as llama.cpp's WPM tokenizer expects
    return tokens, types


def convert(model_dir: Path, out: Path, qtype: str = "q8_0") -> None:
    """Writes `out` from config.json, model.safetensors and tokenizer.json in `model_dir`."""
    config = json.loads((model_dir / "config.json").read_text())
    tokenizer = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
    if config.get("model_type") != "bert" or tokenizer["model"]["type"] != "WordPiece":
        raise ValueError(f"{model_dir} is not a BERT model with a WordPiece tokenizer")
    weight_type = {
        "f16": gguf.GGMLQuantizationType.F16,
        "q8_0": gguf.GGMLQuantizationType.Q8_0,
    }[qtype]
    file_type = {"f16": gguf.LlamaFileType.MOSTLY_F16, "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}
    n_blocks = int(config["num_hidden_layers"])

    writer = gguf.GGUFWriter(out, gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.BERT])
    writer.add_name("all-MiniLM-L6-v2")
    writer.add_block_count(n_blocks)
    writer.add_context_length(int(config["max_position_embeddings"]))
    writer.add_embedding_length(int(config["hidden_size"]))
    writer.add_feed_forward_length(int(config["intermediate_size"]))
    writer.add_head_count(int(config["num_attention_heads"]))
    writer.add_layer_norm_eps(float(config["layer_norm_eps"]))
    writer.add_file_type(file_type[qtype])
    writer.add_causal_attention(False)
    writer.add_pooling_type(gguf.PoolingType.MEAN)  # what sentence-transformers does for it

    tokens, types = _vocab(tokenizer)
    writer.add_token_type_count(int(config.get("type_vocab_size", 1)))
    writer.add_tokenizer_model("bert")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    gguf.SpecialVocab(model_dir, n_vocab=len(tokens)).add_to_gguf(writer, quiet=True)

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, n_blocks)
    for name, tensor in read_safetensors(model_dir / "model.safetensors").items():
        new_name = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if new_name is None:
            raise ValueError(f"{model_dir}: no GGUF name for tensor {name}")
        if tensor.ndim < 2 or new_name.startswith(_ALWAYS_F32):
            writer.add_tensor(new_name, tensor)
        else:
            packed = gguf.quants.quantize(tensor, weight_type)
            writer.add_tensor(new_name, packed, raw_dtype=weight_type)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
