"""Use-cases: everything Darkroom does, with no HTTP, queue or CLI concerns."""
