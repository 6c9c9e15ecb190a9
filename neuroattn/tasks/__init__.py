"""Paradigms: a Task makes Trials, an Agent runs them, the Task reads out and scores."""

from neuroattn.exceptions import ValidationError
from neuroattn.tasks.base import Effect, Task, TaskResult, TaskSpec, Trials
from neuroattn.tasks.cue_combination import CueCombination
from neuroattn.tasks.gain import Gain
from neuroattn.tasks.pair import Pair
from neuroattn.tasks.posner import Posner

#: task name (as the CLI spells it) -> class
TASKS = {"posner": Posner, "pair": Pair, "gain": Gain, "cue-combination": CueCombination}



def get_task(name: str) -> type:
    """The task class called ``name``; an unknown name lists the known ones."""
    if name not in TASKS:
        raise ValidationError(f"task: unknown task {name!r}; expected one of {sorted(TASKS)}")
    return TASKS[name]


__all__ = ["TASKS", "CueCombination", "Effect", "Gain", "Pair", "Posner", "Task", "TaskResult", "TaskSpec", "Trials",
           "get_task"]
