"""The HTTP adapter: FastAPI routes over the service layer."""
