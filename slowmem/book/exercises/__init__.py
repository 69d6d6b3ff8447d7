"""The checks of the book's coursework exercises (chapters 1-6).

Every exercise of the book ends in a *check cell* that calls one ``check_*``
function of this module with the student's function(s). A check

* runs the student's code on cases built here and compares it with the
  package (``slowmem.task``, ``slowmem.training``, ``slowmem.analysis.*``) or
  with an exact reference, within a tolerance it states;
* prints one ``PASS`` / ``FAIL`` line per part, in words, and a score line;
* returns the score as a float (points earned; ``points`` = number of parts),
  which is what nbgrader reads as the cell's partial credit
  (:mod:`slowmem.book.coursework` grades with nbgrader's rule);
* never raises: a stub that still raises ``NotImplementedError``, a wrong
  shape or any exception inside the student's code is reported as ``FAIL``,
  and warnings are recorded rather than written to stderr (nbgrader scores a
  check cell that writes to stderr as 0). The book therefore builds with the
  stubs of the student edition in place.

The checks contain comparisons, not solutions: where a reference is not a
package function it is the definition the exercise statement gives.

The helpers :func:`trained_networks`, :func:`explore_forgetting` and
:func:`explore_distraction` set up and follow up the exercises of chapters 5
and 6; like the checks they print a message instead of raising when the
student's function is still a stub.

One module per chapter: ``task``, ``training``, ``fixed_points``, ``mechanisms``, ``forgetting``,
``robustness``; the shared reporting in ``checks``.
"""
from slowmem.book.exercises.fixed_points import (
    TOY_B,
    TOY_M,
    check_closed_loop,
    check_linearise,
    check_minimise_q,
    explore_toy,
    toy_points,
)
from slowmem.book.exercises.forgetting import (
    check_failure_type,
    check_forgetting_point,
    check_memory_horizon,
    explore_forgetting,
    trained_networks,
)
from slowmem.book.exercises.mechanisms import check_count_attractors, check_mechanism, check_saturation
from slowmem.book.exercises.robustness import check_distraction_point, check_distractor, explore_distraction
from slowmem.book.exercises.task import check_classify_draws, check_targets, check_trial_steps
from slowmem.book.exercises.training import check_force_trial, check_learning_steps, check_rls_update

__all__ = [
    "check_trial_steps", "check_targets", "check_classify_draws",
    "check_rls_update", "check_learning_steps", "check_force_trial",
    "check_closed_loop", "check_minimise_q", "check_linearise",
    "check_count_attractors", "check_mechanism", "check_saturation",
    "check_failure_type", "check_forgetting_point", "check_memory_horizon",
    "check_distractor", "check_distraction_point",
    "trained_networks", "explore_forgetting", "explore_distraction",
    "TOY_M", "TOY_B", "toy_points", "explore_toy",
]
