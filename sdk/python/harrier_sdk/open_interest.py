"""The contract's rule for which file opens reach a detector, by its
``read-path-prefixes`` answer (``wit/read-path-filter.rs``); the test
harness applies it as the host does."""

#: ``O_WRONLY | O_RDWR | O_CREAT | O_TRUNC``: an open with any of these
#: reaches every detector subscribed to ``file-open``, whatever its prefixes.
OPEN_WRITE_FLAGS = 0o1 | 0o2 | 0o100 | 0o1000


def wants_open(prefixes, path, flags):
    """Whether a detector whose ``read_path_prefixes`` answered ``prefixes``
    gets an open of ``path`` with ``flags``: every open when ``None``;
    otherwise writing opens, relative paths, and paths under a prefix."""
    if prefixes is None:
        return True
    return bool(flags & OPEN_WRITE_FLAGS) or not path.startswith("/") or path.startswith(tuple(prefixes))
