"""Users and their sign-in commands (placeholder: being written)."""


def add_commands(sub) -> None:
    pass
