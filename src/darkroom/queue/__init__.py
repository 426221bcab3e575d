"""Queue actors, broker set-up, retry policy and the reconciler."""
