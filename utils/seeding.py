"""Seeds: one run seed derives an independent seed for every simulation."""

from __future__ import annotations

import numpy as np


def simulation_seeds(run_seed: int, n_simulations: int) -> list[int]:
    """One 32-bit seed per simulation, derived from the run seed.

    Child i depends only on (run_seed, i), not on n_simulations, so a run with 5
    simulations repeats the first 5 of a run with 50.

    Returns
    -------
    list of int, length n_simulations
    """
    children = np.random.SeedSequence(run_seed).spawn(n_simulations)
    return [int(child.generate_state(1)[0]) for child in children]
