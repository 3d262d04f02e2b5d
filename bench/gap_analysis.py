"""Benchmark: what the provision gap analysis' measures (ld_mh_wait, language_need) add to a publish
(issue 14: under 5 s at 1,000,000 people). Fine counts of every measure on one base, as ``publish``
works them out, with each measure's time; then disclosure control of all of them, without and with
the two gap measures. Prints each figure and the peak memory.

    python bench/gap_analysis.py STORE           # a linked store, e.g. 1,000,000 synthetic people
"""

from __future__ import annotations

import argparse
import resource
import time

GAP = ("ld_mh_wait", "language_need")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store")
    args = ap.parse_args()
    from triangulate.disclosure import NHS_ENGLAND
    from triangulate.measures import Base, measures, registry
    from triangulate.publish.compute import _check_linked, compute_from_fine, connect

    con = connect(args.store, "duckdb")
    b = Base(con)
    _check_linked(b)
    fine, took = {}, {}
    for m in measures():
        t = time.perf_counter()
        fine[m.name] = {name: expr.to_pyarrow() for name, expr in m.build(b).items()}
        took[m.name] = time.perf_counter() - t
        print(f"fine counts {m.name:28s} {took[m.name]:6.1f} s", flush=True)
    b.release()
    print(f"fine counts: all {sum(took.values()):.1f} s, the gap measures {sum(took[g] for g in GAP):.1f} s")
    everything = dict(registry.REGISTRY)
    control = {}
    try:
        for label, names in (("without", [n for n in fine if n not in GAP]), ("with", list(fine))):
            registry.REGISTRY.clear()
            registry.REGISTRY.update({n: everything[n] for n in names})
            timings: dict = {}
            compute_from_fine({n: fine[n] for n in names}, rule=NHS_ENGLAND, timings=timings)
            control[label] = timings["disclosure control"]
            print(f"disclosure control {label} the gap measures: {control[label]:.1f} s", flush=True)
    finally:
        registry.REGISTRY.clear()
        registry.REGISTRY.update(everything)
    added = sum(took[g] for g in GAP) + control["with"] - control["without"]
    print(f"added by the gap measures: {added:.1f} s (fine counts + disclosure control; one run each, so the "
          "control difference carries run-to-run noise)")
    # Steadier: the protection of the gap measures' own groups of linked counts, on one worker (the control
    # runs its groups on every core, so on two cores this adds about half of it to a publish).
    from triangulate.disclosure import linked
    from triangulate.publish.compute import _dimensions, gather_cubes

    dims = _dimensions(fine)
    cubes, _ = gather_cubes({n: fine[n] for n in GAP}, dims)
    linked._WORK.update(dims=dims.disclosure_dimensions(), cubes=cubes, rule=NHS_ENGLAND,
                        width=NHS_ENGLAND.protection)
    t = time.perf_counter()
    for group in linked._groups(cubes):
        linked._protect_group(group)
    own = time.perf_counter() - t
    linked._WORK.clear()
    print(f"the gap measures' own protection: {own:.1f} s of one worker (about {own / 2:.1f} s of a publish on "
          f"two cores); with their fine counts: about {sum(took[g] for g in GAP) + own / 2:.1f} s added, before "
          "the derived gap tables")
    print(f"peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024:.2f} GB")


if __name__ == "__main__":
    main()
