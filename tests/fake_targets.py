"""Targets for specs registered by fake plugins in the tests."""


def make_thing(size: int = 1, colour: str = "red") -> dict:
    return {"size": size, "colour": colour}
