"""``python -m paved_client``: the ``paved`` command line."""

from paved_client.cli import main

if __name__ == "__main__":
    main()
