"""A dependency-free text progress bar for long fits and surveys (used by the command line).

ProgressBar(total, label) is updated with bar.update(done, note); it redraws one line on its
stream (a carriage return, no newline) at most every `interval` seconds and only once
`delay` seconds have passed, so short jobs print nothing. close() ends the line.
"""

import sys
import time

__all__ = ["ProgressBar", "fit_progress"]


class ProgressBar:
    def __init__(self, total, label="", *, stream=None, width=30, delay=0.0, interval=0.1):
        self.total = max(int(total), 1)
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        self.width = width
        self.delay = delay
        self.interval = interval
        self.start = time.perf_counter()
        self._last = None
        self._shown = False
        self._width_shown = 0
        self._state = (0, "")

    def render(self, done, note=""):
        """The bar as text: label [####------] done/total note elapsed."""
        frac = min(max(done / self.total, 0.0), 1.0)
        filled = int(round(frac * self.width))
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = time.perf_counter() - self.start
        head = f"{self.label} " if self.label else ""
        tail = f" {note}" if note else ""
        return f"{head}[{bar}] {done}/{self.total}{tail} {elapsed:.1f} s"

    def update(self, done, note="", force=False):
        self._state = (done, note)
        now = time.perf_counter()
        if not force:
            if now - self.start < self.delay:
                return
            if self._last is not None and now - self._last < self.interval:
                return
        self._last = now
        self._shown = True
        text = self.render(done, note)
        pad = max(self._width_shown - len(text), 0)
        self._width_shown = len(text)
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()

    def close(self, done=None, note=None):
        """Draw the final state (if the bar was shown) and end its line."""
        if not self._shown:
            return
        d, n = self._state
        self.update(d if done is None else done, n if note is None else note, force=True)
        self.stream.write("\n")
        self.stream.flush()


def fit_progress(bar, n_init=1):
    """An NMF callback(n_iter, objective) that drives bar (total = max_iter * n_init).

    Each start begins again at n_iter 0; the bar counts iterations over all starts.
    """
    state = {"run": -1, "last": 0}

    def callback(n_iter, objective):
        if n_iter == 0:
            state["run"] += 1
        done = state["run"] * (bar.total // max(n_init, 1)) + n_iter
        start = f"start {state['run'] + 1}/{n_init}, " if n_init > 1 else ""
        bar.update(done, f"{start}objective {objective:.6g}")
    return callback
