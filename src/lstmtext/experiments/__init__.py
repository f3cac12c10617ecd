"""Experiments built on the library (comparisons of architectures); the library never imports them."""
