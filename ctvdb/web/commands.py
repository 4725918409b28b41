"""Web-side commands: serve, demo, sectors, budgets (placeholder: being written)."""


def add_commands(sub) -> None:
    pass
