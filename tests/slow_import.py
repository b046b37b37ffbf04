"""`python -m tests.slow_import SECONDS import_records-arguments…`: the CLI import, paused before it stores.

A test starts it as a process and kills it mid-import, as a crash (or an operator's Ctrl+\\) would, or
reads its peak memory: stderr carries `PEAK_RSS_KB=<n>`, this process's own maximum (VmHWM: Linux keeps
getrusage's ru_maxrss across fork and exec, so it would report the parent test process's size).
"""

import re
import sys
from pathlib import Path

if __name__ == "__main__":
    import django

    django.setup()
    from django.core.management import call_command

    from tests.worker import slow_imports

    if float(sys.argv[1]):
        slow_imports(float(sys.argv[1]))
    try:
        call_command("import_records", *sys.argv[2:])
    finally:
        peak = re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text())[1]
        sys.stderr.write(f"\nPEAK_RSS_KB={peak}\n")
