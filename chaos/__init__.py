"""The fault trial (`make chaos`, docs/fault_trial.md): a stack of its own under a bounded load,
each component killed with SIGKILL in turn and restarted, then every acknowledged command checked
stored once, published, and in every projection."""
