"""Drop-in URL grammars of other image servers (thumbor, imgproxy), translated into specs.

Pure parsers, like `imaging.query`: a path in, a `Translation` (source, spec fields, the
watermark and presets it names) out, or `InvalidRequest` / `InvalidSpec` / `Forbidden`.
Settings they need (keys, whether unsigned URLs are allowed) are passed in.
"""
