"""`python -m cli`: the same as the `postbox` console script."""

from cli.main import app

app(prog_name="postbox")
