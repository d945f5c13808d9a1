"""lstm-cli: small LSTM tools for the command line (text, translation, music, handwriting, captions)."""

__version__ = "0.1.0"
