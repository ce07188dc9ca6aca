"""One owner for every setting: the flows' configs (`flows.py`), the profiles that name sets of
values (`profiles.py`) and the CLI options generated from the configs' fields (`cli.py`).

Each setting is declared once, with its default and help: on the plain dataclass its stage
reads (trl's style: `field(default=..., metadata={"help": ...})`), or on the flow's pydantic
config for what only the flow reads. The flow takes the config, so Prefect validates a run's
parameters and builds the run form from it; the CLI options and `prefect.yaml` read the same
fields. Kept free of heavy imports: the CLI reads it when it starts.
"""
