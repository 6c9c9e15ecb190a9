"""Paradigms: a Task makes Trials, an Agent runs them, the Task reads out and scores."""

from neuroattn.tasks.base import Effect, TaskResult, Trials
from neuroattn.tasks.pair import Pair
from neuroattn.tasks.posner import Posner

#: task name (as the CLI spells it) -> class
TASKS = {"posner": Posner, "pair": Pair}

__all__ = ["TASKS", "Effect", "Pair", "Posner", "TaskResult", "Trials"]
