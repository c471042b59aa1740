"""Time one slider change of the defense explorer (mi_lib.widgets.Explorer).

Loads (or trains) the models of a profile, builds the explorer on its fixed batch,
then moves each control in turn, as a reader would, and prints how long every
change took: Algorithm 2 plus the attack on the batch, and the whole callback
including the new picture.

    python scripts/time_widget.py [--profile quick] [--seed 0] [--rounds 3]
"""

import argparse
import math
import statistics
import time

from mi_lib.experiments import prepare
from mi_lib.widgets import Explorer

# (control, value) pairs, applied in order; each one is a single slider change.
MOVES = [("eta", 0.4), ("eps", 2.0), ("p", math.inf), ("eta", 1.0), ("eps", math.inf),
         ("p", 1), ("eta", 0.1), ("p", 2)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default=None, help="default: $MI_PROFILE or quick")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=3, help="passes over the moves")
    args = parser.parse_args()

    setup = prepare(args.profile, seed=args.seed, progress=False)
    start = time.perf_counter()
    explorer = Explorer(setup)
    print(f"profile {setup.profile.name}, device {setup.device}, "
          f"{len(explorer.batch.labels)} victims, T = {explorer.batch.steps} steps; "
          f"explorer built in {1000 * (time.perf_counter() - start):.0f} ms")
    controls = {"eta": explorer.eta_slider, "eps": explorer.eps_slider,
                "p": explorer.p_choice}

    totals, defense = [], []
    for _ in range(args.rounds):
        for name, value in MOVES:
            start = time.perf_counter()
            controls[name].value = value  # the observer calls Explorer.update
            totals.append(time.perf_counter() - start)
            defense.append(explorer.result.seconds)
            m = explorer.metrics
            print(f"  {name:<3} -> {value:<6g} {1000 * totals[-1]:6.0f} ms "
                  f"(defense + attack {1000 * defense[-1]:4.0f} ms)  "
                  f"MSE {m['mse']:.4f}, distortion {m['logit_distortion']:.3f}")

    print(f"one slider change: median {1000 * statistics.median(totals):.0f} ms, "
          f"max {1000 * max(totals):.0f} ms over {len(totals)} changes "
          f"(defense + attack: median {1000 * statistics.median(defense):.0f} ms)")


if __name__ == "__main__":
    main()
