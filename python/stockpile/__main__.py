"""`python -m stockpile ...`: the same as the `stockpile` command."""

from stockpile.cli import main

if __name__ == "__main__":
    main()
