"""lstmtext: train, compare, explain and serve RNN/LSTM-family text classifiers on a CPU."""

import os as _os

# OpenMP busy-waiting made an LSTM step ~5x slower on a 2-core machine under load; must be set before torch loads.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
