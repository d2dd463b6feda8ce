"""`python -m segrule_cli`: the segrule command."""

from segrule_cli.app import main

main()
