"""What the tests call Chinese words and English sentences, for the checks that every user-facing
message and page speaks Chinese."""

from __future__ import annotations

import re

CHINESE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
# Three or more Latin words in a row ("this review link", "try again later"): an English sentence
# or its fragment. Single technical names (JPEG、PNG, Idempotency-Key, 10 MB) are not.
ENGLISH_SENTENCE = re.compile(r"[A-Za-z]{2,}(?:[ ,;:'’-]+[A-Za-z]{2,}){2,}")
