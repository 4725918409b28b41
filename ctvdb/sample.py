"""Sample Commercial Log workbooks (placeholder: being written)."""


def add_commands(sub) -> None:
    pass
