"""``python -m dicomfast``: the ``dicomfast`` command (see dicomfast/cli/)."""

if __name__ == "__main__":  # not when a worker process re-imports the main module
    import sys

    from .cli import main

    sys.exit(main())
