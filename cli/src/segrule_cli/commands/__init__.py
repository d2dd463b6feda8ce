"""The segrule commands, one module per command or group of related commands.

Each module defines its typer command functions (wrapped in
``segrule_cli.common.handle_errors``); ``segrule_cli.app`` registers them on the app,
in the order ``segrule --help`` lists them.
"""
