"""The toolchain around the notebooks: the report build (``python -m tools.build``), the speed
benchmark (``python -m tools.bench``) and the nbconvert export settings (``python -m tools.export``).
No notebook imports it; it imports ``helpers`` like a notebook does."""
