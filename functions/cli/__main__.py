"""`python -m functions.cli`: the same as the `postbox` console script."""

from functions.cli.main import app

app(prog_name="postbox")
