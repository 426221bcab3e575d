"""The analyzers: pure functions from an upright picture to a JSON-ready result.

Each analyzer module holds one capability (OCR, faces, NSFW, labels, colours, logos,
background removal). Models load lazily, once per process. Nothing here does I/O beyond
reading model files; the service layer decides what to analyse and stores the results.
"""
