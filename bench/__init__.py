"""Speed of zenllama against the alternatives, measured in one run: `python -m bench [part]`."""
