# ganrepro: regenerate the papers' tables and figures.
#   snakemake --cores 2                      smoke scale (default), every paper, every table and figure
#   snakemake --cores 2 --config scale=tiny  the test scale
#   snakemake --cores 2 --config 'papers=[r3gan]'   one paper (the papers are the files in params/experiments/)
#   snakemake --profile slurm --config scale=paper   the full reproduction on a SLURM cluster
# The PIPELINE is generated from params/ (experiments as data); rules live in workflow/rules/.
import os
import sys

from snakemake.utils import min_version, validate

from ganrepro import paths  # every path pattern of the rules comes from ganrepro/paths.py
from ganrepro.orchestration.dag import PipelineDAG

min_version("9.0")

configfile: os.path.join(workflow.basedir, "workflow", "config.yaml")
report: "workflow/report/workflow.rst"  # `snakemake --report report.html`: tables and figures by paper and table


PIPELINE = PipelineDAG(config["scale"], config["papers"])  # first: a wrong `papers` is told with its right spelling
validate(config, os.path.join(workflow.basedir, "workflow", "schemas", "config.schema.yaml"))
os.environ["GANREPRO_WORKDIR"] = os.getcwd()  # every job resolves data/, runs/, results/ against this directory
SCALE = config["scale"]
THREADS = PIPELINE.threads()  # from the scale preset: the same numerics under Snakemake, DVC, SLURM or by hand
if SCALE == "paper":  # the GPU budget of a full reproduction, shown before anything runs (dry runs too)
    print(PIPELINE.budget_summary(), file=sys.stderr)

wildcard_constraints:
    scale=SCALE,
    paper="|".join(PIPELINE.papers),
    exp="[a-z0-9-]+",


include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/look.smk"


rule all:
    input:
        PIPELINE.final_targets(),
    default_target: True
