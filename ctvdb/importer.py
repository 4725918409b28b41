"""The import (placeholder: being written)."""


def add_commands(sub) -> None:
    pass
