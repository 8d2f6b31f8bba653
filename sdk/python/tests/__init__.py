"""Unit tests of the Python SDK: ``python -m unittest discover -s sdk/python/tests -t sdk/python``
with the componentize-py bindings and ``sdk/python`` on ``PYTHONPATH``."""
