"""The demo."""


def run_demo(seed=0):
    raise NotImplementedError
