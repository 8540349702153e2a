"""Probabilities + layout -> text: spaces, line breaks, letters or digits, letter case, word list.

Per word (characters of one line between word gaps):

1. **Charset**: probabilities are restricted to the chosen charset (``alnum``, ``letters``,
   ``digits``) and renormalised.
2. **Letters or digits** (``alnum`` only): the word's total log-probability of being all
   letters is weighed against that of being a number (see :func:`_kinds`), so a ``0`` among
   letters reads ``O`` and an ``O`` among digits reads ``0`` (0/O/D, 1/I/L, 2/Z, 5/S, 6/G,
   7/T, 8/B). A sure character without a look-alike keeps its kind (``A4``, ``B12``).
3. **Word list** (letter words of 2+ characters, on by default, ``--no-dictionary`` turns it
   off): the 30,000 most frequent words of symspellpy's bundled English frequency list
   (indexed once, lazily, in about a quarter of a second)
   proposes words within 2 edits of the reading; every same-length candidate is scored by
   ``sum(log p(letter_i)) + WORD_PRIOR_WEIGHT * log(frequency share)`` and the reading itself
   by the same sum with the prior of an unknown word. The best score wins, so a confident
   reading of a rare word is kept and an unsure one becomes the likely word.
4. **Letter case** (the model merges upper and lower case): on each line a baseline is
   fitted through the glyph bottoms and the *cap height* is the median height above the
   baseline of glyphs that are tall in either case (digits and b d f h k l t); the page's
   *x-height* is the 30th percentile of that height over letters whose lower case is short
   (a c e g m n o p q r s u v w x y z). Such a letter is upper case when it reaches above the
   middle between x-height and cap height (above ``CAP_RATIO`` = 0.8 of the cap height when
   the page shows no distinct x-height, e.g. all capitals), else lower case. A word whose short
   letters are mostly (60 %) capitals is written in capitals (letters tall in both cases,
   b d f h i j k l t, included; a single short letter counts unless it starts the word);
   otherwise only its first letter may be a capital, and only when it reaches 3/4 of the way
   from x-height to cap height (``INITIAL_CAP``; a tall glyph in the middle of a lower-case
   word is a sloppy small letter), and b d f h i j k l t stay lower case, except a word-initial
   T or D whose shape is the capital's (:func:`capital_by_shape`). A line's cap height is never
   taken below 0.85 of the page's median cap height (and is that when the line has no tall
   glyphs).
5. **Case by shape** (models with a case head, output ``upper``): the head reads P(upper case)
   from the letter's shape alone (the crop has no size), so it knows A from a, H from h, but
   not O from o. Where it is sure (``SHAPE_SURE``), its answer replaces the height vote of that
   letter, for the all-capitals vote and for a word's first letter; letters tall in both cases
   then get a vote too, and the T/D shape rule is no longer needed. A short letter that stays
   below the middle between x-height and the capital threshold is never made a capital by its
   shape (a q that looks like a Q but is as small as its neighbours).

Lines are joined with newlines and words with one space.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .types import Box

WORD_PRIOR_WEIGHT = 0.6
DICTIONARY_WORDS = 30_000
UNKNOWN_WORD_LOGP = math.log(1e-9)
JOIN_LOGP = math.log(0.005)  # a word-list word may join two glyphs into one letter, at this cost
PROB_FLOOR = 1e-3  # no letter is ever less likely than this: the model is overconfident
SURE_WORD = 0.9  # a known word whose every letter is at least this sure is not looked up
CAP_RATIO = 0.8
INITIAL_CAP = 0.75
SHORT_LOWER = set("acegmnopqrsuvwxyz")
TALL_BOTH = set("bdfhijklt")
DESCENDING = set("gjpqy")
KEEP_KIND = 0.97
SHAPE_SURE = 0.9  # the case head decides a letter's case when P(upper) >= this or <= 1 - this


@dataclass(frozen=True)
class DecodedChar:
    """One decoded character: text, confidence, top-k alternatives (case applied), its index.

    ``extra`` lists further input characters joined into this one (a letter segmentation had
    split in two pieces, recognised as one letter of a word-list word).
    """

    char: str
    confidence: float
    alternatives: tuple[tuple[str, float], ...]
    index: int
    extra: tuple[int, ...] = ()


@dataclass(frozen=True)
class DecodedLine:
    """One decoded line: its text and characters in order."""

    text: str
    chars: tuple[DecodedChar, ...]


@lru_cache(maxsize=1)
def _symspell():
    """Load the most frequent ``DICTIONARY_WORDS`` words of symspellpy's English list, once.

    The whole list (82,765 entries, with a long tail of rare words and typos) takes seconds
    to index; the top 30,000 take about a quarter of a second and cover everyday writing.
    """
    import importlib.resources

    from symspellpy import SymSpell

    sym = SymSpell(max_dictionary_edit_distance=2, prefix_length=5)  # shorter prefix: 3x faster to build
    ref = importlib.resources.files("symspellpy") / "frequency_dictionary_en_82_765.txt"
    added = 0
    with ref.open("r", encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) == 2 and parts[0].isalpha() and parts[0].isascii():
                sym.create_dictionary_entry(parts[0], int(parts[1]))
                added += 1
                if added >= DICTIONARY_WORDS:
                    break
    total = float(sum(sym.words.values()))
    return sym, total


def load_dictionary() -> None:
    """Load the word list now (the GUI may call this in the background to save time later)."""
    _symspell()


def _restrict(probs: np.ndarray, labels: Sequence[str], allowed: set[str]) -> np.ndarray:
    """Zero the labels outside ``allowed`` and renormalise each row."""
    mask = np.array([lab in allowed for lab in labels], np.float64)
    p = probs.astype(np.float64) * mask
    s = p.sum(1, keepdims=True)
    uniform = mask / max(mask.sum(), 1.0)
    return np.where(s > 0, p / np.where(s > 0, s, 1.0), uniform)


def _charset_labels(labels: Sequence[str], charset: str) -> set[str]:
    if charset == "letters":
        return {c for c in labels if c.isalpha()}
    if charset == "digits":
        return {c for c in labels if c.isdigit()}
    if charset == "alnum":
        return {c for c in labels if c.isalnum()}
    raise ValueError(f"charset must be alnum, letters or digits, got {charset!r}")


# Letters a handwritten digit is often read as (and the other way round).
LOOKALIKE = {"O": "0", "D": "0", "Q": "0", "I": "1", "L": "1", "Z": "2", "S": "5", "B": "8", "G": "6"}
LOOKALIKE["T"] = "7"
LOOKALIKE_SHARE = 0.45


def _kinds(p: np.ndarray, labels: Sequence[str], dictionary: bool, small: np.ndarray) -> np.ndarray:
    """Per character of one word: 'L' (letter) or 'D' (digit).

    Digit evidence per character is its digit probability plus ``LOOKALIKE_SHARE`` of the
    probability of letters that look like digits (O, I, L, Z, S, B, G, T...). The word is a
    number when the mean evidence exceeds 0.55. A word made only of look-alikes ("IOOO",
    "go") is letters when its letter reading is an English word, else a number; a word
    whose letter reading is an English word needs a mean evidence above 0.8. Digits are as
    tall as capitals, so a word with an x-height-sized glyph (``small``) is letters unless
    the digit evidence is overwhelming (0.9).
    """
    is_digit = np.array([c.isdigit() for c in labels])
    look = np.array([c in LOOKALIKE for c in labels])
    d_ev = p[:, is_digit].sum(1) + LOOKALIKE_SHARE * p[:, look].sum(1)
    strong = (d_ev >= 0.75) | (d_ev <= 0.25)
    known = False
    if dictionary:
        letters = _restrict(p, labels, {c for c in labels if c.isalpha()})
        reading = "".join(labels[int(j)] for j in letters.argmax(1)).lower()
        known = reading in _symspell()[0].words
    top = [labels[int(j)] for j in p.argmax(1)]
    if small.any():
        word_digit = float(d_ev.mean()) > 0.9
    elif len(p) >= 2 and all(t.isdigit() or t in LOOKALIKE for t in top) and any(t.isdigit() for t in top):
        # Tall glyphs that all look like digits, some read as digits: "80" rather than "SO".
        word_digit = float(d_ev.mean()) > 0.4
    elif strong.any() or not dictionary:
        # An English word needs much stronger evidence to become a number ("good" vs "9002").
        word_digit = float(d_ev.mean()) > (0.8 if known else 0.55 if strong.any() else 0.5)
    else:
        word_digit = not known
    kinds = np.full(len(p), "D" if word_digit else "L", dtype="<U1")
    for i, t in enumerate(top):
        # A sure character that has no look-alike keeps its kind ("A4", "B12").
        if p[i].max() > KEEP_KIND and t not in LOOKALIKE and t not in LOOKALIKE.values():
            kinds[i] = "D" if t.isdigit() else "L"
    return kinds


def _verbosity_top():
    from symspellpy import Verbosity

    return Verbosity.TOP


def _align(logp: np.ndarray, index: dict[str, int], word: str) -> tuple[float, list[int]]:
    """Best alignment of glyphs to the letters of ``word``: (log-probability, letter per glyph).

    Each letter takes one glyph, or two neighbouring glyphs (a letter drawn in two pieces
    that segmentation split, at ``JOIN_LOGP``); the result maps every glyph to the position
    of its letter in ``word`` (two glyphs of one letter share it).
    """
    n, m = len(logp), len(word)
    neg = -1e18
    best = np.full((n + 1, m + 1), neg)
    back = np.zeros((n + 1, m + 1), np.int8)
    best[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, min(i, m) + 1):
            k = index[word[j - 1]]
            one = best[i - 1, j - 1] + logp[i - 1, k]
            two = best[i - 2, j - 1] + max(logp[i - 2, k], logp[i - 1, k]) + JOIN_LOGP if i >= 2 else neg
            if one >= two:
                best[i, j], back[i, j] = one, 1
            else:
                best[i, j], back[i, j] = two, 2
    owner = [0] * n
    i, j = n, m
    while i > 0 and j > 0:
        step = int(back[i, j])
        for g in range(i - step, i):
            owner[g] = j - 1
        i, j = i - step, j - 1
    return float(best[n, m]), owner


@lru_cache(maxsize=4096)
def _lookup(word: str, distance: int) -> tuple:
    """Word-list suggestions within ``distance`` edits (cached: pages repeat words)."""
    from symspellpy import Verbosity

    sym = _symspell()[0]
    return tuple(sym.lookup(word, Verbosity.ALL, max_edit_distance=distance, transfer_casing=False))


def _best_word(p: np.ndarray, labels: Sequence[str], reading: str) -> tuple[str, list[int]]:
    """Return the reading or a word-list word, whichever explains the probabilities best.

    Also returns, per glyph, the position of its letter in the word (a word one letter
    shorter than the reading joins two glyphs into one letter).
    """
    sym, total = _symspell()
    index = {c.lower(): i for i, c in enumerate(labels) if c.isalpha()}
    logp = np.log(np.clip(p, PROB_FLOOR, 1.0))

    def prior(count: float | None) -> float:
        return WORD_PRIOR_WEIGHT * (math.log(count / total) if count else UNKNOWN_WORD_LOGP)

    identity = list(range(len(reading)))
    if reading in sym.words and float(p.max(1).min()) >= SURE_WORD:
        return reading, identity  # a word read with certainty: nothing to correct
    best = (reading, identity)
    best_s = float(sum(logp[i, index[ch]] for i, ch in enumerate(reading))) + prior(sym.words.get(reading))
    seen = {reading}
    # Look up the reading and the readings with the least sure letter replaced by its runner-up.
    queries = [reading]
    order = np.argsort(p.max(1))[:2]
    for i in order:
        ranked = np.argsort(-p[i])
        for j in ranked[1:3]:
            alt = labels[j].lower()
            if alt in index:
                queries.append(reading[:i] + alt + reading[i + 1 :])
    for q in queries:
        for sug in _lookup(q, 2):
            w = sug.term
            if w in seen or not all(ch in index for ch in w):
                continue
            seen.add(w)
            if len(w) == len(reading):
                s, owner = float(sum(logp[i, index[ch]] for i, ch in enumerate(w))), identity
            elif len(w) == len(reading) - 1 and len(w) >= 2:
                s, owner = _align(logp, index, w)
            else:
                continue
            s += prior(sug.count)
            if s > best_s:
                best, best_s = (w, owner), s
    return best


def _baseline_and_cap(boxes: Sequence[Box], chars: Sequence[str]) -> tuple[np.ndarray, float]:
    """Fit a baseline (slope, intercept) through glyph bottoms; return it and the cap height."""
    xs = np.array([b.cx for b in boxes], np.float64)
    bottoms = np.array([b.y2 for b in boxes], np.float64)
    ok = np.array([c.lower() not in DESCENDING for c in chars])
    if ok.sum() < 2:
        ok = np.ones(len(boxes), bool)
    if ok.sum() >= 3 and np.ptp(xs[ok]) > 0:
        fit = np.polyfit(xs[ok], bottoms[ok], 1)
        resid = bottoms[ok] - np.polyval(fit, xs[ok])
        inl = np.abs(resid) <= max(2.0, 2.5 * float(np.median(np.abs(resid))))
        if inl.sum() >= 3 and np.ptp(xs[ok][inl]) > 0:
            fit = np.polyfit(xs[ok][inl], bottoms[ok][inl], 1)
        if abs(fit[0]) > 0.15:  # a wild slope is a bad fit: use a flat baseline
            fit = np.array([0.0, float(np.median(bottoms[ok]))])
    else:
        fit = np.array([0.0, float(np.median(bottoms[ok]))])
    ascents = np.array([np.polyval(fit, b.cx) - b.y for b in boxes])
    tall = [a for a, c in zip(ascents, chars, strict=True) if c.isdigit() or c.lower() in "bdfhklt"]
    cap = float(np.median(tall)) if len(tall) >= 1 else 0.0
    return fit, cap


def capital_by_shape(letter: str, mask: np.ndarray | None) -> bool:
    """Whether a T or D glyph has the shape of the capital (the others cannot be told apart).

    T: the widest row in the top 60 % lies in the top 15 % (t crosses lower). D: the left third
    reaches the top (d's bowl on the left is x-height tall). Measured on UNIPEN training writers:
    T 88 % / t 0 %, D 92 % / d 5 % called capital.
    """
    if mask is None or letter.upper() not in ("T", "D") or mask.size == 0:
        return False
    m = mask > 0
    rows, cols = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
    if rows.size < 4 or cols.size < 3:
        return False
    m = m[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = m.shape
    if letter.upper() == "T":
        widths = m[: max(1, int(0.6 * h))].sum(1)
        return int(np.argmax(widths)) < 0.15 * h
    left = np.flatnonzero(m[:, : max(1, w // 3)].any(1))
    return left.size > 0 and left[0] < 0.2 * h


def _shape_vote(p_upper: float | None) -> bool | None:
    """Return the case head's vote: True (upper), False (lower) or None (not sure, or no head)."""
    if p_upper is None or not math.isfinite(p_upper):
        return None
    if p_upper >= SHAPE_SURE:
        return True
    if p_upper <= 1.0 - SHAPE_SURE:
        return False
    return None


def _apply_case(
    word_chars: list[str],
    ascents: list[float],
    threshold: float,
    initial: float,
    shape_up: bool = False,
    upper: Sequence[float | None] | None = None,
    small_below: float = 0.0,
) -> list[str]:
    """Upper or lower case per letter of one word (see the module docstring).

    ``upper[i]`` is the case head's P(upper case) for letter ``i`` (None: no head). A letter
    whose small form is short and that stays below ``small_below`` (clearly x-height) is not
    made a capital by its shape.
    """
    out = [c.lower() for c in word_chars]
    shape = [_shape_vote(upper[i] if upper is not None else None) for i in range(len(word_chars))]
    for i, ch in enumerate(word_chars):
        if shape[i] and ch.lower() in SHORT_LOWER and small_below > 0 and ascents[i] < small_below:
            shape[i] = None  # shaped like a capital but as small as the small letters: height decides
    ups = {}
    for i, ch in enumerate(word_chars):
        if not ch.isalpha():
            continue
        if shape[i] is not None:
            ups[i] = shape[i]
        elif ch.lower() in SHORT_LOWER:
            ups[i] = threshold > 0 and ascents[i] > threshold
    first = next((i for i, c in enumerate(word_chars) if c.isalpha()), None)
    # Capitals: most voting letters are capitals; one vote counts unless it is the first
    # letter's ("LET" is in capitals, "Ohh" is not).
    enough = len(ups) > 1 or len(word_chars) == 1 or first not in ups
    if ups and sum(ups.values()) >= 0.6 * len(ups) and enough:
        return [c.upper() for c in word_chars]
    if first is None:
        return out
    if shape[first] is not None:
        if shape[first]:
            out[first] = out[first].upper()  # shaped like a capital (A, H, R ...)
    elif first in ups and threshold > 0 and ascents[first] > initial:
        out[first] = out[first].upper()  # a capital starts a word; inside a word it is noise
    elif first == 0 and shape_up:
        out[first] = out[first].upper()  # a T or D shaped like the capital
    return out


def _small_glyphs(
    lines: dict[int, dict[int, list[int]]], boxes: Sequence[Box], guess: list[str]
) -> np.ndarray:
    """Mask of glyphs clearly shorter than the page's tall glyphs (x-height letters).

    Uses geometry only (the labels only tell which glyphs may hang below the baseline).
    """
    n = len(boxes)
    asc = np.zeros(n)
    for words in lines.values():
        idx = [i for w in words.values() for i in w]
        fit, _ = _baseline_and_cap([boxes[i] for i in idx], [guess[i] for i in idx])
        for i in idx:
            asc[i] = np.polyval(fit, boxes[i].cx) - boxes[i].y
    if n < 4:
        return np.zeros(n, bool)
    lo, hi = np.percentile(asc, 20), np.percentile(asc, 85)
    if lo >= 0.8 * hi:  # no distinct x-height on this page
        return np.zeros(n, bool)
    return asc < (lo + hi) / 2


def decode_lines(
    line_of: Sequence[int],
    word_of: Sequence[int],
    boxes: Sequence[Box],
    probs: np.ndarray,
    labels: Sequence[str],
    *,
    charset: str = "alnum",
    dictionary: bool = True,
    k: int = 3,
    masks: Sequence[np.ndarray | None] | None = None,
    upper: np.ndarray | None = None,
) -> list[DecodedLine]:
    """Decode characters (in reading order) into lines of text.

    ``line_of[i]``, ``word_of[i]`` and ``boxes[i]`` describe character ``i`` (boxes in any one
    consistent coordinate system, y down); ``probs`` is (N, len(labels)); ``masks[i]``
    (optional) is character ``i``'s own ink, used to tell a capital T or D by its shape;
    ``upper[i]`` (optional, the model's case head) is P(upper case) of character ``i``.
    """
    n = len(line_of)
    if n == 0:
        return []
    probs = _restrict(np.asarray(probs), labels, _charset_labels(labels, charset))
    label_arr = list(labels)
    # Group into lines and words, preserving order.
    lines: dict[int, dict[int, list[int]]] = {}
    for i in range(n):
        lines.setdefault(int(line_of[i]), {}).setdefault(int(word_of[i]), []).append(i)
    chosen = [""] * n
    boxes = list(boxes)  # joined pieces get the union of their boxes
    extra: dict[int, tuple[int, ...]] = {}
    small = _small_glyphs(lines, boxes, [label_arr[int(j)].lower() for j in probs.argmax(1)])
    for words in lines.values():
        for idx in words.values():
            p = probs[idx]
            if charset == "alnum":
                kinds = _kinds(p, label_arr, dictionary, small[idx])
                for r, kind in zip(range(len(idx)), kinds, strict=True):
                    allowed = {c for c in label_arr if (c.isdigit() if kind == "D" else c.isalpha())}
                    p[r] = _restrict(p[r : r + 1], label_arr, allowed)[0]
                probs[idx] = p
            reading = "".join(label_arr[int(j)] for j in p.argmax(1)).lower()
            owner = list(range(len(idx)))
            if dictionary and len(idx) >= 2 and reading.isalpha():
                reading, owner = _best_word(p, label_arr, reading)
            kept = []
            for r, i in enumerate(idx):
                if r > 0 and owner[r] == owner[r - 1]:
                    # Second piece of a letter split in two: the first piece takes it over.
                    first = kept[-1]
                    boxes[first] = boxes[first].union(boxes[i])
                    extra[first] = (*extra.get(first, ()), i)
                    merged = np.maximum(probs[first], probs[i])
                    probs[first] = merged / max(float(merged.sum()), 1e-9)
                    continue
                chosen[i] = reading[owner[r]]
                kept.append(i)
            idx[:] = kept
    # Letter case from geometry, per line; page-level cap height as a fallback.
    line_caps: dict[int, tuple[np.ndarray, float]] = {}
    for li, words in lines.items():
        idx = [i for w in words.values() for i in w]
        line_caps[li] = _baseline_and_cap([boxes[i] for i in idx], [chosen[i] for i in idx])
    caps = [c for _, c in line_caps.values() if c > 0]
    page_cap = float(np.median(caps)) if caps else 0.0
    # The page's x-height: most short-form letters are lower case, so a low percentile of
    # their heights above the baseline is the x-height even with some capitals among them.
    short_asc = [
        float(np.polyval(line_caps[li][0], boxes[i].cx) - boxes[i].y)
        for li, words in lines.items()
        for w in words.values()
        for i in w
        if chosen[i] in SHORT_LOWER
    ]
    page_xh = float(np.percentile(short_asc, 30)) if short_asc else 0.0
    out: list[DecodedLine] = []
    for li, words in lines.items():
        fit, cap = line_caps[li]
        # Handwriting keeps its size on a page: a line's few tall glyphs (maybe misread)
        # must not make its cap height much smaller than the page's.
        cap = max(cap, 0.85 * page_cap)
        if cap == 0.0:
            # No tall reference anywhere: compare with the line's own tallest glyphs.
            idx = [i for w in words.values() for i in w]
            cap = float(np.percentile([np.polyval(fit, boxes[i].cx) - boxes[i].y for i in idx], 90)) / 0.6
        # Capitals reach above the middle between x-height and cap height; without a distinct
        # x-height (an all-capitals page) above CAP_RATIO of the cap height.
        threshold = (page_xh + cap) / 2 if 0 < page_xh < CAP_RATIO * cap else CAP_RATIO * cap
        # A lone capital starting a word is rarer than a big small letter: ask for more height.
        initial = page_xh + INITIAL_CAP * (cap - page_xh) if 0 < page_xh < CAP_RATIO * cap else threshold
        # Clearly x-height: below the middle between x-height and the capital threshold.
        small_below = (page_xh + threshold) / 2 if 0 < page_xh < CAP_RATIO * cap else 0.0
        texts, dchars = [], []
        for idx in words.values():
            asc = [float(np.polyval(fit, boxes[i].cx) - boxes[i].y) for i in idx]
            shape_up = masks is not None and bool(idx) and capital_by_shape(chosen[idx[0]], masks[idx[0]])
            up = [float(upper[i]) for i in idx] if upper is not None else None
            cased = _apply_case([chosen[i] for i in idx], asc, threshold, initial, shape_up, up, small_below)
            texts.append("".join(cased))
            for r, i in enumerate(idx):
                ch = cased[r]
                j = label_arr.index(ch.upper()) if ch.isalpha() else label_arr.index(ch)
                order = np.argsort(-probs[i])[:k]
                alts = tuple(
                    (_case_like(label_arr[int(t)], ch), float(probs[i, int(t)]))
                    for t in order
                    if probs[i, int(t)] > 0
                )
                dchars.append(DecodedChar(ch, float(min(1.0, probs[i, j])), alts, i, extra.get(i, ())))
        out.append(DecodedLine(" ".join(texts), tuple(dchars)))
    return out


def _case_like(label: str, ref: str) -> str:
    """Give an alternative label the case of the chosen character."""
    return label.lower() if ref.islower() else label
