"""The option sets the template tests render, and the id each is known by."""

from itertools import product

OPTIONS = ("include_example_domain", "include_demo_ui", "use_docker", "database")
ALL_SETS = [
    dict(zip(OPTIONS, values, strict=True))
    for values in product(("y", "n"), ("y", "n"), ("y", "n"), ("postgresql", "sqlite"))
]


def set_id(options: dict[str, str]) -> str:
    return "-".join(f"{key.split('_')[-1]}={value}" for key, value in options.items())
