"""The toolchain around the notebooks: the report build (``python -m tools.build``), the speed
benchmark (``python -m tools.bench``), the nbconvert export settings (``python -m tools.export``) and
the trained-weight cache's upgrade pass and fingerprints (``python -m tools.cache``).
No notebook imports it; it imports ``helpers`` like a notebook does."""
