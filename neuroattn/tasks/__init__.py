"""Paradigms: a Task makes Trials, an Agent runs them, the Task reads out and scores.

Each task's module is imported when the task is first used (``TASKS[name]``, or its
class from this package): listing the names imports none of them.
"""

from neuroattn._lazy import LazyRegistry, lazy_exports
from neuroattn.exceptions import ValidationError

#: task name (as the CLI spells it) -> class (its module imported on first use)
TASKS = LazyRegistry({
    "posner": "neuroattn.tasks.posner:Posner",
    "pair": "neuroattn.tasks.pair:Pair",
    "gain": "neuroattn.tasks.gain:Gain",
    "cue-combination": "neuroattn.tasks.cue_combination:CueCombination",
    "search": "neuroattn.tasks.search:Search",
    "decision": "neuroattn.tasks.random_dots:RandomDots",
    "normalization": "neuroattn.tasks.normalization:Normalization",
    "capacity": "neuroattn.tasks.capacity:Capacity",
    "blink": "neuroattn.tasks.blink:Blink",
    "masking": "neuroattn.tasks.masking:Masking",
    "blindness": "neuroattn.tasks.blindness:Blindness",
})

_EXPORTS = {"Effect": "base", "Task": "base", "TaskResult": "base", "TaskSpec": "base",
            "Trials": "base", "Blindness": "blindness", "Blink": "blink",
            "Capacity": "capacity", "CueCombination": "cue_combination", "Gain": "gain",
            "Masking": "masking", "Normalization": "normalization", "Pair": "pair",
            "Posner": "posner", "RandomDots": "random_dots", "Search": "search"}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


def get_task(name: str) -> type:
    """The task class called ``name``; an unknown name lists the known ones."""
    if name not in TASKS:
        raise ValidationError(f"task: unknown task {name!r}; expected one of {sorted(TASKS)}")
    return TASKS[name]


__all__ = ["TASKS", "Blindness", "Blink", "Capacity", "CueCombination", "Effect", "Gain", "Masking", "Normalization", "Pair", "Posner", "RandomDots", "Search", "Task", "TaskResult", "TaskSpec", "Trials",
           "get_task"]
