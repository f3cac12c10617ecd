"""lstmtext: train, compare, explain and serve RNN/LSTM-family text classifiers on a CPU."""

__version__ = "0.1.0"
