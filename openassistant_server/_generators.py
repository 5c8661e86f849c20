"""The built-in models that need no weights: upstream's `_lorem` and a local `echo`.

`_lorem` emits one word per token with a trailing space, the last without, as upstream's
`text_to_events` does; `echo` keeps the prompt's own whitespace. Either way the joined
tokens equal the final content (10.8).
"""

from __future__ import annotations

import random
import re

from ._data import LOREM_WORDS

__all__ = ["echo_tokens", "generate_tokens", "lorem_paragraph", "word_tokens"]


def word_tokens(text: str) -> list[str]:
    """Split text into upstream's word tokens: `"a b c"` -> `["a ", "b ", "c"]`."""
    words = text.split()
    return [w + " " for w in words[:-1]] + words[-1:]


def lorem_paragraph(rng: random.Random) -> str:
    """Return a lorem-ipsum paragraph of about 20-40 words.

    Sentences of 4 to 8 words, capitalised and ending in a period, like the `lorem` package
    upstream's `_lorem` worker uses.
    """
    sentences = []
    for _ in range(rng.randint(4, 6)):
        words = [rng.choice(LOREM_WORDS) for _ in range(rng.randint(4, 8))]
        sentence = " ".join(words)
        sentences.append(sentence[0].upper() + sentence[1:] + ".")
    return " ".join(sentences)


def echo_tokens(content: str, max_new_tokens: int) -> list[str]:
    """Return the prompter's text as tokens, at most `max_new_tokens` of them.

    Each token is a word with the whitespace after it, so an echo is exact: newlines and
    runs of spaces survive, and the joined tokens are the prompt (or its first words).
    """
    every = _exact_tokens(content)
    tokens = every[: max(max_new_tokens, 0)]
    if len(tokens) < len(every) and tokens:
        tokens[-1] = tokens[-1].rstrip()  # a cut reply ends on a word, as upstream's would
    return tokens


def _exact_tokens(content: str) -> list[str]:
    # "  a b\nc " -> ["  a ", "b\n", "c "]: leading whitespace joins the first word.
    tokens = re.findall(r"\S+\s*", content)
    lead = content[: len(content) - len(content.lstrip())]
    if tokens and lead:
        tokens[0] = lead + tokens[0]
    return tokens


def generate_tokens(
    generator: str, *, prompt: str, max_new_tokens: int, rng: random.Random
) -> list[str]:
    """Return the tokens a built-in model produces.

    Args:
        generator: `"lorem"` (ignores `max_new_tokens`, as upstream's does) or `"echo"`.
        prompt: The parent prompter message's content.
        max_new_tokens: The requested cap.
        rng: The server's random source.
    """
    if generator == "echo":
        return echo_tokens(prompt, max_new_tokens)
    return word_tokens(lorem_paragraph(rng))
