"""Running experiments: the results store, comparisons of tiers, and figures."""

from neuroattn.study.store import (
    check_writable,
    config_id,
    environment,
    is_stored,
    load_summary,
    run_path,
    save_run,
    to_toml,
)

__all__ = ["check_writable", "config_id", "environment", "is_stored", "load_summary", "run_path",
           "save_run", "to_toml"]
