"""utils.interrupts: SIGTERM and SIGHUP stop a block as Ctrl-C does, and the handlers are put back."""

import os
import signal

import pytest

from lstmtext.utils.interrupts import interrupting


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="the platform has no SIGHUP")
def test_the_named_signals_raise_keyboard_interrupt_inside_the_block_only():
    before = signal.getsignal(signal.SIGHUP), signal.getsignal(signal.SIGTERM)
    for name in ("SIGTERM", "SIGHUP"):
        with pytest.raises(KeyboardInterrupt), interrupting(name, "SIGNOSUCH"):  # a signal the platform lacks: skipped
            os.kill(os.getpid(), getattr(signal, name))
    assert (signal.getsignal(signal.SIGHUP), signal.getsignal(signal.SIGTERM)) == before
