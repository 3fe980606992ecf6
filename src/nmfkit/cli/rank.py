"""`nmfkit rank`: survey ranks by consensus clustering; print the table, write the table, the
clusters of the rows and the plot."""

import os
import time
import warnings

import numpy as np

from ..apps.plots import plot_rank_survey
from ..rank import survey as survey_module
from .errors import CommandError, one_line
from .files import OutputError, check_writable, write_table
from .reports import write_features, write_sample_clusters
from .steps import (
    check_text_options,
    claim_outputs,
    describe_input,
    progress_bar,
    read_input,
    run_params,
)

__all__ = ["run_rank", "consensus_clusters"]


def run_rank(args):
    """Run `nmfkit rank` with the parsed args; returns the exit status 0 (failures raise
    CommandError). Every output (table, clusters, plot) is checked before the input is read;
    warnings during the survey become note lines."""
    check_text_options(args)
    taken = set()
    table = claim_outputs(args.output, "table", args, taken)[0] if args.output else None
    clusters = [_rank_output("--clusters", k_text, path, args, taken)
                for k_text, path in args.clusters]
    features = [_rank_output("--features", k_text, path, args, taken)
                for k_text, path in args.features]
    if args.plot:  # fail before the survey, not after it
        _check_plot(args.plot, args, taken)
    data = read_input(args)
    X = data.X
    if X.shape[0] < 2:
        raise CommandError(f"{args.input}: {X.shape[0]} row; a rank survey clusters the rows "
                           "and needs at least 2.")
    passes = 2 if args.randomized else 1  # the randomized survey runs as many again
    bar = progress_bar(args, passes * len(args.ks) * args.runs, "rank")
    done = [0]

    def progress(k, run, objective):
        done[0] += 1
        if bar:
            which = " (randomized)" if done[0] > len(args.ks) * args.runs else ""
            bar.update(done[0], f"k={k} run {run + 1}/{args.runs}{which}")

    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            survey = survey_module.rank_survey(
                X, args.ks, n_runs=args.runs, beta_loss=args.loss, solver=args.solver,
                max_iter=args.max_iter, tol=args.tol, random_state=args.seed, callback=progress,
                randomized=args.randomized)
        except (ValueError, TypeError) as exc:
            raise CommandError(f"{args.input}: cannot survey: {one_line(exc)}") from None
        except MemoryError as exc:
            raise CommandError(f"{args.input}: the survey needs more memory than there is "
                               f"({one_line(exc)}).") from None
        finally:
            if bar:
                bar.close()
    wall = time.perf_counter() - start
    describe_input(args, data)
    print(f"rank survey of {args.input} ({X.shape[0]} x {X.shape[1]}): {args.runs} runs per k, "
          f"{args.loss}, {wall:.2f} s")
    print(survey.table())
    if survey.randomized is not None:
        print("the same survey of the randomized input (each column shuffled):")
        print(survey.randomized.table())
    for w in caught:
        if issubclass(w.category, UserWarning):
            print(f"note: {one_line(w.message)}")
    params = run_params(args, ks=list(args.ks), runs=args.runs, init="random",
                        randomized=args.randomized)
    try:
        if table:
            columns = survey_columns(survey)
            write_table(table, columns, params=params)
            print(f"wrote {table}: {', '.join(columns)}")
        for k, path in clusters:
            _write_clusters(path, k, survey, data, params)
        for k, path in features:
            write_features(path, survey.factors[k][1], data, dict(params, k=k))
    except OutputError as exc:
        raise CommandError(str(exc)) from None
    if args.plot:
        try:
            plot_rank_survey(survey, args.plot)
        except (OSError, ValueError) as exc:
            raise CommandError(f"{args.plot}: cannot write the plot ({one_line(exc)})") \
                from None
        print(f"wrote {args.plot}")
    return 0


# The survey table's columns, after k: the RankSurvey fields, in this order.
SURVEY_MEASURES = ("cophenetic", "dispersion", "rss", "evar", "objective", "stability",
                   "factor_distance", "silhouette_samples", "silhouette_features")


def survey_columns(survey):
    """The table of the survey: k, every per-rank measure, and with a randomized survey its
    measures again under random_<name>."""
    columns = {"k": survey.ks}
    for name in SURVEY_MEASURES:
        columns[name] = getattr(survey, name)
    if survey.randomized is not None:
        for name in SURVEY_MEASURES:
            columns[f"random_{name}"] = getattr(survey.randomized, name)
    return columns


def _rank_output(option, k_text, path, args, taken):
    """(k, path) of one `option K FILE`, checked: K is one of --ks, FILE a table to write."""
    try:
        k = int(k_text)
    except ValueError:
        raise CommandError(f"{option} {k_text} {path}: {k_text!r} is not a rank; give one "
                           f"of --ks ({', '.join(map(str, args.ks))}).") from None
    if k not in args.ks:
        raise CommandError(f"{option} {k_text} {path}: rank {k} is not surveyed; give one of "
                           f"--ks ({', '.join(map(str, args.ks))}).")
    return k, claim_outputs(path, "table", args, taken)[0]


def _check_plot(path, args, taken):
    """Check --plot before the survey: matplotlib is installed, path names a picture format
    it writes, the file can be written and is neither the input nor another output."""
    try:
        import matplotlib  # noqa: F401 - first, so that a missing matplotlib is caught here
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise CommandError('--plot needs matplotlib: pip install "nmfkit[plot]" (or pip '
                           'install matplotlib).') from None
    kinds = FigureCanvasBase.get_supported_filetypes()
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in kinds:
        raise CommandError(f"{path}: --plot needs a picture file name ending in one of "
                           f"{', '.join('.' + e for e in sorted(kinds))}.")
    try:
        check_writable(path)
    except OutputError as exc:
        raise CommandError(str(exc)) from None
    real = os.path.realpath(path)
    if real in taken or (os.path.exists(args.input) and real == os.path.realpath(args.input)):
        raise CommandError(f"{path}: already the input or another output; give --plot its own "
                           "file.")
    taken.add(real)


def _write_clusters(path, k, survey, data, params):
    """Write each row's cluster at rank k: the consensus cluster and the best run's largest
    factor (nmf0, nmf1, ...), labelled by the row labels (or row numbers)."""
    X = data.X
    write_sample_clusters(path, survey.factors[k][0], data, dict(params, k=k),
                          consensus=consensus_clusters(survey.consensus[k], k))
    print(f"wrote {path}: the cluster of each of the {X.shape[0]} rows at k={k}")


def consensus_clusters(C, k):
    """Each row's cluster when the average-linkage tree of 1 - C is cut into k groups,
    numbered 1, 2, ... in the order the rows first appear."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform
    D = np.clip(1.0 - np.asarray(C, dtype=np.float64), 0.0, 1.0)
    np.fill_diagonal(D, 0.0)
    raw = fcluster(linkage(squareform(D, checks=False), method="average"), k, "maxclust")
    _, first = np.unique(raw, return_index=True)
    order = {raw[i]: rank + 1 for rank, i in enumerate(sorted(first))}
    return np.array([order[c] for c in raw])
