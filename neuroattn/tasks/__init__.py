"""Paradigms: a Task makes Trials, an Agent runs them, the Task reads out and scores."""

from neuroattn.exceptions import ValidationError
from neuroattn.tasks.base import Effect, Task, TaskResult, TaskSpec, Trials
from neuroattn.tasks.blindness import Blindness
from neuroattn.tasks.blink import Blink
from neuroattn.tasks.capacity import Capacity
from neuroattn.tasks.cue_combination import CueCombination
from neuroattn.tasks.gain import Gain
from neuroattn.tasks.masking import Masking
from neuroattn.tasks.normalization import Normalization
from neuroattn.tasks.pair import Pair
from neuroattn.tasks.posner import Posner
from neuroattn.tasks.random_dots import RandomDots
from neuroattn.tasks.search import Search

#: task name (as the CLI spells it) -> class
TASKS = {"posner": Posner, "pair": Pair, "gain": Gain, "cue-combination": CueCombination,
         "search": Search, "decision": RandomDots, "normalization": Normalization,
         "capacity": Capacity, "blink": Blink,
         "masking": Masking, "blindness": Blindness}



def get_task(name: str) -> type:
    """The task class called ``name``; an unknown name lists the known ones."""
    if name not in TASKS:
        raise ValidationError(f"task: unknown task {name!r}; expected one of {sorted(TASKS)}")
    return TASKS[name]


__all__ = ["TASKS", "Blindness", "Blink", "Capacity", "CueCombination", "Effect", "Gain", "Masking", "Normalization", "Pair", "Posner", "RandomDots", "Search", "Task", "TaskResult", "TaskSpec", "Trials",
           "get_task"]
