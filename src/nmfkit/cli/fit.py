"""`nmfkit fit`: factorize INPUT ~= W H, print the objective, write W and H."""

import time
import warnings

import numpy as np

from ..core.exceptions import ConvergenceWarning
from ..estimator.nmf import NMF
from .errors import CommandError, one_line
from .files import OutputError, write_factors
from .progress import fit_progress
from .reports import write_features, write_sample_clusters
from .steps import (
    check_text_options,
    claim_outputs,
    describe_input,
    progress_bar,
    read_input,
    run_params,
)

__all__ = ["run_fit"]


def run_fit(args):
    """Run `nmfkit fit` with the parsed args; returns the exit status 0 (failures raise
    CommandError). Outputs are checked before the input is read; warnings during the fit
    become note lines (a ConvergenceWarning becomes the status)."""
    check_text_options(args)
    taken = set()
    outputs = claim_outputs(args.output, "factors", args, taken)
    features = claim_outputs(args.features, "table", args, taken)[0] if args.features else None
    clusters = claim_outputs(args.clusters, "table", args, taken)[0] if args.clusters else None
    constraint = _constraint(args)
    data = read_input(args)
    X = data.X
    m, n = X.shape
    bar = progress_bar(args, args.max_iter * args.n_init, "fit")
    model = NMF(args.k, beta_loss=args.loss, solver=args.solver, init=args.init,
                max_iter=args.max_iter, tol=args.tol, n_init=args.n_init, random_state=args.seed,
                callback=fit_progress(bar, args.n_init) if bar else None, **constraint)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            W = model.fit_transform(X)
        except (ValueError, TypeError) as exc:
            raise CommandError(f"{args.input}: cannot factorize with -k {args.k}: "
                               f"{one_line(exc)}") from None
        except MemoryError as exc:
            raise CommandError(f"{args.input}: -k {args.k} on a {m} x {n} matrix needs more "
                               f"memory than there is ({one_line(exc)}).") from None
        finally:
            if bar:
                bar.close()
    wall = time.perf_counter() - start
    stopped = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    # warnings for the user (not DeprecationWarning: Python hides those by default too)
    notes = [w for w in caught if issubclass(w.category, UserWarning)
             and not issubclass(w.category, ConvergenceWarning)]
    H = model.components_
    # The objective of the final W, H (after the closing W solve), from scikit-learn's
    # reconstruction_err_ = sqrt(2 * objective).
    err = model.reconstruction_err_
    objective = 0.5 * err * err
    converged = args.tol > 0 and not stopped
    status = _status(args, model.n_iter_, stopped)
    params = run_params(args, k=args.k, init=getattr(model, "_init_used", args.init),
                        n_init=args.n_init, **constraint)
    try:
        write_factors(args.output, W, H, row_labels=data.row_labels,
                      column_labels=data.column_labels, objective=objective,
                      n_iter=model.n_iter_, converged=converged, params=params)
    except OutputError as exc:
        raise CommandError(str(exc)) from None
    summary = _objective_line(args.loss, objective, err, X)
    describe_input(args, data)
    how = (f"orthogonal {args.orthogonal}" if args.orthogonal else
           f"sparseness {args.sparseness[0]} {args.sparseness[1]}" if args.sparseness else
           f"solver {args.solver}")
    print(f"fit       k={args.k}, {args.loss}, {how}, {status}, {wall:.2f} s")
    for w in notes:
        print(f"note: {one_line(w.message)}")
    print(summary)
    if constraint:
        print(f"sparseness (Hoyer) of W's columns {model.sparseness_['W']:.4f}, of H's rows "
              f"{model.sparseness_['H']:.4f}")
    _report_outputs(outputs, args.k, W, H, data)
    try:
        if features:
            write_features(features, H, data, params)
        if clusters:
            write_sample_clusters(clusters, W, data, params)
            print(f"wrote     {clusters}: the cluster of each of the {m} rows and its "
                  "silhouette")
    except OutputError as exc:
        raise CommandError(str(exc)) from None
    return 0


def _constraint(args):
    """The NMF parameters of --orthogonal / --sparseness FACTOR S (checked here: a usage
    error before the input is read)."""
    if args.orthogonal:
        return {"orthogonal": args.orthogonal}
    if not args.sparseness:
        return {}
    factor, text = args.sparseness
    if factor not in ("W", "H"):
        raise CommandError(f"--sparseness {factor} {text}: FACTOR must be W or H.")
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= 1.0:
        raise CommandError(f"--sparseness {factor} {text}: S must be a number in [0, 1] (Hoyer's "
                           "sparseness: 0 dense, 1 one nonzero entry).")
    return {f"sparseness_{factor}": value}


def _status(args, n_iter, stopped):
    """How the fit ended: ran every iteration (--tol 0), stopped at --max-iter, or converged."""
    if args.tol == 0:
        return f"ran {n_iter} iterations (--tol 0: no convergence test)"
    if stopped:
        return (f"stopped at --max-iter {args.max_iter} before the relative decrease fell "
                f"below --tol {args.tol:g}")
    return f"converged after {n_iter} iterations (--tol {args.tol:g})"


def _objective_line(loss, objective, err, X):
    """The final objective, named for the loss; for frobenius also the relative error."""
    if loss == "frobenius":
        norm = float(np.sqrt(X.multiply(X).sum())) if hasattr(X, "nnz") else float(
            np.sqrt(np.nansum(np.square(X, dtype=np.float64))))
        return (f"objective 0.5*||X - WH||_F^2 = {objective:.6g}; relative error "
                f"||X - WH||_F / ||X||_F = {err / norm if norm > 0 else 0.0:.4g}")
    if loss == "kullback-leibler":
        return f"objective KL(X | WH) = {objective:.6g}"
    return f"objective D_beta(X | WH) = {objective:.6g} ({loss})"


def _report_outputs(outputs, k, W, H, data):
    """The 'wrote' lines: one archive, or the W and H tables with what labels their rows and
    columns."""
    if len(outputs) == 1:
        print(f"wrote     {outputs[0]}: W {W.shape[0]} x {W.shape[1]}, H {H.shape[0]} x "
              f"{H.shape[1]}, labels, objective, n_iter, converged, params")
        return
    rows = "the row labels" if data.row_labels is not None else "row numbers from 0"
    cols = "the column labels" if data.column_labels is not None else "column numbers from 0"
    comps = f"nmf0..nmf{k - 1}"
    print(f"wrote     {outputs[0]}: W {W.shape[0]} x {W.shape[1]} (rows: {rows}; columns: "
          f"{comps})")
    print(f"wrote     {outputs[1]}: H {H.shape[0]} x {H.shape[1]} (rows: {comps}; columns: "
          f"{cols})")
