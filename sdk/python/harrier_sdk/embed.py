"""Embedding files into a component, like Rust's ``include_str!``."""

import os


def include_text(module_file, relative_path):
    """The text of ``relative_path`` (relative to the directory of
    ``module_file``, pass ``__file__``), read when the module is imported.

    componentize-py imports the application while it builds the component
    and keeps the module's state, so a file read at import ends up inside
    the component, which has no files when it runs.
    """
    path = os.path.join(os.path.dirname(os.path.abspath(module_file)), relative_path)
    with open(path, encoding="utf-8") as f:
        return f.read()
