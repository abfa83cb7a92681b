# Runs llama.cpp's own convert_hf_to_gguf.py (the bundled source, with its gguf-py), for
# test/convert-reference.test.ts. Usage:
#   python3 llama-convert.py <llama.cpp source> <jobs.json>
# jobs.json holds a list of convert_hf_to_gguf.py argument lists, run one after the other in this one
# process (torch is imported once).
#
# The Python `transformers` package is not installable on the test machines, so this installs a
# stand-in module with exactly what the converter touches for autoglm's three architectures:
#   - AutoConfig.from_pretrained raises, so the converter reads config.json itself (its own fallback,
#     the path it takes for remote-code models such as GLM-ASR): the config is passed through as is;
#   - AutoTokenizer.from_pretrained gives the vocabulary of tokenizer.json (model.vocab plus
#     added_tokens), get_added_vocab(), added_tokens_decoder, and encode/decode of added tokens only
#     (the converter round-trips each added token; anything else raises).
# One converter step is answered here instead of computed: the BPE pre-tokenizer is recognised by
# hashing the tokens of a test string, and the tiny test vocabularies are not GLM-4's, so no hash in
# llama.cpp's table matches; it answers "glm4", the table's answer for GLM-4's real tokenizer.
import json
import sys
import types
from pathlib import Path

llama_src, jobs_file = sys.argv[1:]


class AddedToken:
    def __init__(self, t):
        self.content = t["content"]
        self.special = bool(t.get("special", False))
        self.normalized = bool(t.get("normalized", not self.special))


class StandInTokenizer:
    def __init__(self, folder):
        tj = json.loads((Path(folder) / "tokenizer.json").read_text(encoding="utf-8"))
        self.vocab = dict(tj["model"]["vocab"])
        self.added_tokens_decoder = {t["id"]: AddedToken(t) for t in tj.get("added_tokens", [])}
        for i, t in self.added_tokens_decoder.items():
            self.vocab[t.content] = i

    def get_added_vocab(self):
        return {t.content: i for i, t in self.added_tokens_decoder.items()}

    def encode(self, text, add_special_tokens=True):
        added = self.get_added_vocab()
        if text in added:
            return [added[text]]
        raise NotImplementedError("the transformers stand-in encodes added tokens only")

    def decode(self, ids):
        return "".join(self.added_tokens_decoder[i].content for i in ids)


class AutoConfig:
    @staticmethod
    def from_pretrained(*_a, **_k):
        raise OSError("transformers stand-in: the converter reads config.json itself")


class AutoTokenizer:
    @staticmethod
    def from_pretrained(folder, **_k):
        return StandInTokenizer(folder)


stand_in = types.ModuleType("transformers")
stand_in.AutoConfig = AutoConfig
stand_in.AutoTokenizer = AutoTokenizer
sys.modules["transformers"] = stand_in

# Debian's torch (1.13) predates the float8 and unsigned dtypes the converter names in its dtype
# tables; the tiny checkpoints hold none of them (BF16 and F32 only), so placeholders suffice.
import torch  # noqa: E402

for missing in ("float8_e4m3fn", "float8_e5m2", "float8_e8m0fnu", "uint16", "uint32", "uint64"):
    if not hasattr(torch, missing):
        setattr(torch, missing, type(missing, (), {})())

sys.path.insert(0, str(Path(llama_src) / "gguf-py"))
sys.path.insert(0, llama_src)
import conversion.base as base  # noqa: E402

base.TextModel.get_vocab_base_pre = lambda self, tokenizer: "glm4"

import convert_hf_to_gguf  # noqa: E402

for args in json.loads(Path(jobs_file).read_text(encoding="utf-8")):
    sys.argv = ["convert_hf_to_gguf.py", *args]
    convert_hf_to_gguf.main()
