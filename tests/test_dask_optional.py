"""dask and distributed are optional: nmfkit imports and fits without them (issue 7)."""

import subprocess
import sys
import textwrap


def test_nmfkit_works_without_dask():
    # Block dask and distributed in a fresh interpreter, as if they were not installed.
    code = textwrap.dedent("""
        import sys
        for name in ("dask", "dask.array", "distributed"):
            sys.modules[name] = None
        import numpy as np
        import nmfkit
        W = nmfkit.NMF(2, init="random", random_state=0, max_iter=20).fit_transform(
            np.random.RandomState(0).rand(20, 8))
        assert W.shape == (20, 2)
        assert not any(m.startswith(("dask", "distributed")) for m in sys.modules
                       if sys.modules[m] is not None)
        try:
            import nmfkit.distributed.front
        except ImportError as exc:
            print("IMPORTERROR", exc)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "IMPORTERROR" in out.stdout and "nmfkit[dask]" in out.stdout, out.stdout
