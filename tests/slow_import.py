"""`python -m tests.slow_import SECONDS import_records-arguments…`: the CLI import, paused before it stores.

A test starts it as a process and kills it mid-import, as a crash (or an operator's Ctrl+\\) would.
"""

import sys

if __name__ == "__main__":
    import django

    django.setup()
    from django.core.management import call_command

    from tests.worker import slow_imports

    slow_imports(float(sys.argv[1]))
    call_command("import_records", *sys.argv[2:])
