"""Write a tiny random-weight Llama that real vLLM can serve: no hub, no download, seconds to build.

Run by :func:`looplab.real_vllm.build_model` with the vLLM environment's interpreter (it needs
``torch``, ``transformers`` and ``tokenizers``, which vLLM brings), as a plain script::

    .venv-vllm/bin/python looplab/tiny_model.py OUT_DIR

It imports nothing from looplab, so it runs outside the workshop's environment. What it writes:

* a byte-level BPE tokenizer (vocabulary 1024) trained on English-like text generated here from a
  fixed seed, with ``<s>``, ``</s>``, ``<pad>`` and a chat template (``<|user|>`` ... ``<|assistant|>``);
* a 2-layer Llama, hidden size 128, 4 attention heads of 32 (a head size vLLM's CPU attention
  accepts), random weights from a fixed seed, float32, as safetensors;
* ``generation_config.json`` with ``max_new_tokens`` 16: vLLM takes it as the default ``max_tokens``,
  so requests that do not set one (the stack's) answer in a fraction of a second instead of
  generating up to the context length.

Random weights give gibberish, and could end an answer at its first token. Two weights are set by
hand so that never happens: every token embedding carries a constant in dimension 0, which the
final norm turns into a large steady component, and the output row of each special token has a
large negative weight there. Special tokens (end of sequence included) thus get logits far below
every other token and are never sampled, so every answer has text; ``max_tokens`` ends it. The
script checks this on a few prompts before it writes anything.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

VOCAB_SIZE = 1024
HIDDEN, LAYERS, HEADS, INTERMEDIATE = 128, 2, 4, 256
MAX_POSITIONS = 512
SEED = 1968  # the upstream issue's number
SPECIAL = ["<s>", "</s>", "<pad>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['content'] is string %}{% set text = message['content'] %}"
    "{% else %}{% set text = message['content'] | selectattr('type', 'equalto', 'text')"
    " | map(attribute='text') | join(' ') %}{% endif %}"
    "<|{{ message['role'] }}|>{{ text }}<|end|>"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
FORMAT = 1  # bump when the model's files change, so cached builds are rebuilt


def corpus(lines: int = 4000) -> list[str]:
    """English-like sentences from a fixed seed: enough for a BPE vocabulary, nothing downloaded."""
    rng = random.Random(SEED)
    words = ("the event loop is closed client server request response stream token model adapter "
             "connection pool keep alive async await run close open call retry error hello world say "
             "first second later fix test vllm stack llama chat completion usage choice delta content "
             "role user assistant system message python http socket transport timeout lazy once per "
             "loop lifespan shared context start serve health version models tokenize prompt text").split()
    punctuation = [".", ".", ".", "?", "!", ","]
    out = []
    for _ in range(lines):
        n = rng.randint(3, 14)
        sentence = " ".join(rng.choice(words) for _ in range(n))
        out.append(sentence[0].upper() + sentence[1:] + rng.choice(punctuation))
    out += [f"w{i} " * 4 for i in range(200)]  # the stack's verification prompts ("w0 w1 w2 w3")
    out += [" ".join(str(rng.randint(0, 9999)) for _ in range(8)) for _ in range(200)]
    return out


def build_tokenizer(out: Path):  # noqa: ANN201 (transformers is imported here, not at module level)
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=SPECIAL, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus(), trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                   additional_special_tokens=SPECIAL[3:], model_max_length=MAX_POSITIONS,
                                   clean_up_tokenization_spaces=False)
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(out)
    return fast


def build_model(out: Path, tokenizer) -> None:  # noqa: ANN001
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(SEED)
    special_ids = sorted(tokenizer.convert_tokens_to_ids(SPECIAL))
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=HIDDEN, intermediate_size=INTERMEDIATE, num_hidden_layers=LAYERS,
        num_attention_heads=HEADS, num_key_value_heads=HEADS, head_dim=HIDDEN // HEADS,
        max_position_embeddings=MAX_POSITIONS, rms_norm_eps=1e-5, tie_word_embeddings=False,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, torch_dtype="float32")
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():
        model.model.embed_tokens.weight[:, 0] = 1.0  # a steady component in dimension 0 ...
        model.lm_head.weight[:, 0] = 0.0
        model.lm_head.weight[special_ids, 0] = -4.0  # ... that pushes special tokens far down
    _check_specials_never_win(model, tokenizer, special_ids)
    model.save_pretrained(out, safe_serialization=True)
    GenerationConfig(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                     pad_token_id=tokenizer.pad_token_id, max_new_tokens=16).save_pretrained(out)


def _check_specials_never_win(model, tokenizer, special_ids: list[int]) -> None:  # noqa: ANN001
    import torch

    prompts = ["Say hello", "w0 w1 w2 w3", "hello", "Hello world", "x" * 300]
    for prompt in prompts:
        text = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                             add_generation_prompt=True)
        ids = tokenizer(text, add_special_tokens=False, return_tensors="pt").input_ids
        with torch.no_grad():
            probs = model(ids).logits[0].softmax(-1)
        worst = probs[:, special_ids].max().item()
        if worst > 1e-6:
            raise SystemExit(f"tiny model check failed: a special token has probability {worst:.2g} "
                             f"after {prompt!r}")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(out)
    build_model(out, tokenizer)
    (out / "looplab-model.json").write_text(json.dumps({"format": FORMAT, "seed": SEED, "vocab": len(tokenizer)}))
    print(f"tiny model written to {out} (vocabulary {len(tokenizer)}, "
          f"{sum(p.stat().st_size for p in out.iterdir()) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
