"""Allow ``python -m wg``."""

from wg.cli import main

if __name__ == "__main__":
    main()
