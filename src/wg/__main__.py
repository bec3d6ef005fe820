"""Allow ``python -m wg``."""

from wg.cli import run

if __name__ == "__main__":
    run()
