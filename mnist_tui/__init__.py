"""mnist-tui: a live MNIST training dashboard for the terminal."""

__version__ = "0.1.0"
