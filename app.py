"""The CDK app: `make synth` (CDK_OUTDIR=cdk.out python app.py [-c postbox:<key>=<value> ...]) or the CDK CLI
(`make deploy`, which hands its `-c` values over itself). Run `make build` first, with the same `-c` values."""

import os
import sys

from aws_cdk import App

from infra.config import InfraConfig, cdk_json_context, context_overrides
from infra.stack import PostboxStack

# cdk.json's context is passed explicitly too, so `python app.py` without the CDK CLI sees the same values; the CLI's
# own context (its `-c` values) wins over these.
app = App(
    outdir=os.environ.get("CDK_OUTDIR", "cdk.out"), context={**cdk_json_context(), **context_overrides(sys.argv[1:])}
)
config = InfraConfig.from_context(app.node)
PostboxStack(app, config.stack_name, config=config)
app.synth()
