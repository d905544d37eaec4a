"""Scale names and the main job's scale, in one place (each preset is ``params/scales/<name>.yaml``).

Kept import-free: the CLI's argument defaults and the DAG's log parsing read it without loading params.
``tests/test_scales.py`` checks it against params/scales/, the schema's enum and workflow/config.yaml.
"""

SCALES = ("tiny", "smoke", "paper")
SMALL_SCALES = ("tiny", "smoke")  # the scales a paper's small_scale recipe may size (never paper)
MAIN_SCALE = "smoke"              # the README's main command and Snakemake's default (workflow/config.yaml)
