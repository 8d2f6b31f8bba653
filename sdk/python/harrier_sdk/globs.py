"""Wildcard patterns as the shared configuration keys use them.

``*`` matches any run of characters, ``/`` included, and ``?`` exactly one
character; nothing else is special and there is no escaping. A pattern must
match the whole text. The same rules as the Rust SDK's ``GlobList``.
"""


def glob_matches(pattern, text):
    """Whether ``pattern`` matches all of ``text``."""
    p = t = 0
    star = -1
    mark = 0
    while t < len(text):
        if p < len(pattern) and (pattern[p] == "?" or (pattern[p] != "*" and pattern[p] == text[t])):
            p += 1
            t += 1
        elif p < len(pattern) and pattern[p] == "*":
            star = p
            mark = t
            p += 1
        elif star >= 0:
            p = star + 1
            mark += 1
            t = mark
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


class GlobList:
    """A list of patterns; matches when any of them does."""

    def __init__(self, patterns=()):
        self.patterns = list(patterns)

    def matches(self, text):
        """Whether any pattern matches ``text``."""
        return any(glob_matches(p, text) for p in self.patterns)

    def is_empty(self):
        """Whether the list has no patterns."""
        return not self.patterns

    def __bool__(self):
        return bool(self.patterns)

    def __repr__(self):
        return f"GlobList({self.patterns!r})"
