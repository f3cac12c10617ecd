"""Deterministic hard inputs for the cleaning chains: the pieces where a fused or cached cleaner could part
from the step-by-step one (text across whitespace, case, emoji sequences, entities, odd whitespace).

``tricky_texts(n, seed)`` glues random pieces with random separators, so that pieces meet each other in
every order; the same call always returns the same texts.
"""

from __future__ import annotations

import random

#: Pieces that a cleaning step reacts to, or that sit at the edge of what it reacts to.
PIECES = [
    # mentions, hashtags, URLs (any case), www without a scheme, e-mail-like and ftp
    "@united", "@VirginAmerica:", "a@b", "#tag", "#⃣", "x#y", "http://t.co/x", "HTTPS://T.CO/Y", "httpſ://x",
    "www.x.com", "WWW.Y.ORG/p", "wWw.z", "ftp://f", "see:http://a", "(https://b)", "w.", "ww.",
    # HTML entities and tags, also ones that span words
    "&amp;", "&lt;3", "&gt;", "&#39;", "&#8217;", "&rsquo;", "&nbsp;", "&amp", "&ampx", "&#10;", "&Idot;",
    "<b>", "</i>", "<br/>", "<3", "</3", "<a href=x>", ">", "<", "< 3", "&lt;b&gt;",
    # emoticons, alone and glued
    ":)", ":-)", ":(", ":'(", ":'D", ":'-(", ":/", ":3", "<3", "xD", "XD", "8)", "B)", "^_^", "-_-", ":P",
    ":p", "o_O", ":))", "):", "10:30", "a:)", ":)b",
    # contractions and leftovers, in every case and with both apostrophes
    "I'm", "i'm", "I’m", "IM", "isn't", "ISN'T", "Isn't", "iSn'T", "can't", "won't", "y'all", "Y’ALL",
    "o'clock", "jan.", "Jan.", "JAN.", "thats", "Thats", "gonna", "GONNA", "wanna", "luv", "sux", "ain't",
    "'cause", "cause", "Cause", "to", "To", "tO", "cAUSE", "can", "May", "will", "should", "cause'd",
    "he's", "it's", "we'd", "I'd've", "'", "’", "''", "‘quoted’", "don’t", "didn’t", "shan't", "ma'am",
    "let's", "LET'S", "o'", "rock'n'roll", "'s", "s'",
    # elongation, repeated marks, digits, dollars
    "heyyyy", "guyyyys", "sooooo", "HEYYYY", "aaa", "AAa", "ééé", "ÉÉÉ", "lll", "111", "___", "xx", "zzz.",
    "!!!", "???", "?!?!", "!?", "...", "…", "$50", "$", "2nd", "١٢٣", "½", "x²",
    # emoji: plain, with variation selectors, skin tones, ZWJ sequences, keycaps, flags, stray selectors
    "😊", "😊😊", "❤️", "❤", "\ufe0f", "\ufe0e", "a\ufe0f", "\u200d", "👍🏽", "👨\u200d👩\u200d👧", "👨\u200d",
    "1️⃣", "#️⃣", "🇺🇸", "🇺", "✈️", "✈", "☺", "™", "©", "🕐", "👞", "🤷\u200d♂️", "😊:)", ":)😊", "🏳️\u200d🌈",
    # other scripts and case edge cases
    "Café", "ÜNÏCODE", "ОК", "مرحبا", "你好", "ΣΑΣ", "ΟΔΥΣΣΕΥΣ", "σς", "İstanbul", "ǅ", "ß", "ﬁ", "Ⅻ",
    "\x00", "\x00x\x00",
    # ordinary words so that the pieces above meet plain text too
    "the", "flight", "was", "late", "Thank", "you", "so", "much", "A-list", "it", "is",
]

#: Separators between pieces: nothing, plain spaces, and whitespace that only Unicode knows.
SEPARATORS = ["", " ", " ", " ", "  ", "\t", "\n", "\r\n", "\xa0", "\u2028", "\x1c", "\x85", "\u3000", "\u200b"]


def tricky_texts(n: int = 3000, seed: int = 17, max_pieces: int = 8) -> list[str]:
    """``n`` texts of 1 to ``max_pieces`` pieces, glued by random separators (with random padding)."""
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        parts = [rng.choice(PIECES) for _ in range(rng.randint(1, max_pieces))]
        text = parts[0]
        for part in parts[1:]:
            text += rng.choice(SEPARATORS) + part
        texts.append(rng.choice(["", " ", "\n"]) + text + rng.choice(["", " ", "\t"]))
    return texts
