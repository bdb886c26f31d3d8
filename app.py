"""The CDK app: `make synth` (CDK_OUTDIR=cdk.out python app.py) or `npx cdk synth`. Run `make build` first."""

import os

from aws_cdk import App

from infra.config import InfraConfig, cdk_json_context
from infra.stack import PostboxStack

# cdk.json's context is passed explicitly too, so `python app.py` without the CDK CLI sees the same values.
app = App(outdir=os.environ.get("CDK_OUTDIR", "cdk.out"), context=cdk_json_context())
config = InfraConfig.from_context(app.node)
PostboxStack(app, config.stack_name, config=config)
app.synth()
