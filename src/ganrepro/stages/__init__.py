"""Pipeline stages: each turns (paper, experiment, scale) into files by calling the packages.

The CLI, the Snakefile and dvc.yaml all call these through `ganrepro <stage>`; none of the training,
model, data or metrics code knows about the orchestrators.
"""
