"""Small matching helpers detectors share."""

#: Common Unix shells by program name.
SHELLS = frozenset(["sh", "bash", "dash", "zsh", "ksh", "ash", "fish", "csh", "tcsh", "mksh", "busybox"])


def basename(path):
    """The last component of a path (``/usr/bin/bash`` -> ``bash``)."""
    return path.rsplit("/", 1)[-1]


def is_shell(name):
    """Whether a program name (not a path) is a shell."""
    return name in SHELLS
