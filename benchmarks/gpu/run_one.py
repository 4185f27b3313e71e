"""Execute one notebook's code cells in an IPython shell (the device has no Jupyter kernel)."""
import json, sys, time
from IPython.core.interactiveshell import InteractiveShell
path, profile = sys.argv[1], sys.argv[2]
cells = json.load(open(path))["cells"]
shell = InteractiveShell.instance()
for i, c in enumerate(cells):
    if c["cell_type"] != "code":
        continue
    src = "".join(c["source"]).replace("%matplotlib inline", "")
    r = shell.run_cell(src, silent=True)
    if not r.success:
        print(f"FAILED {path} cell {i}:\n{src[:400]}", file=sys.stderr)
        sys.exit(1)
    if "parameters" in c.get("metadata", {}).get("tags", []):
        shell.run_cell(f"PROFILE = {profile!r}", silent=True)
