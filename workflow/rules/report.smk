# Tables (one target per table) and figures. Both are flagged for `snakemake --report report.html`:
# category = paper, subcategory = table (or "figures"); captions in workflow/report/ show the config.
# The figures of a paper are its registered builders (ganrepro.papers.<paper>) plus the generic ones.


rule table:
    input:
        metrics=lambda w: PIPELINE.table_metrics(w.paper, w.table),
        params=lambda w: PIPELINE.param_counts(w.paper),
        cost=lambda w: PIPELINE.cost_inputs(w.paper, w.table),
    output:
        csv=report(paths.table("{paper}", "{table}", "csv"), caption="../report/table.rst",
                   category="{paper}", subcategory="{table}"),
        md=report(paths.table("{paper}", "{table}", "md"), caption="../report/table.rst",
                  category="{paper}", subcategory="{table}"),
        metrics=paths.table("{paper}", "{table}", "json"),  # reproduced cells as JSON (DVC metrics)
    params:
        scale=SCALE,
        preset=PIPELINE.params.scale(SCALE),  # shown in the report caption
    threads: THREADS
    log:
        "logs/tables/{paper}/{table}.log",
    shell:
        "OMP_NUM_THREADS={threads} ganrepro tables --paper {wildcards.paper} --scale {params.scale} --table {wildcards.table} > {log} 2>&1"


rule figures:
    input:
        lambda w: PIPELINE.figure_inputs(w.paper),
    output:
        report(paths.figure("{paper}", "{fig}"), caption="../report/figure.rst", category="{paper}",
               subcategory="figures"),
    wildcard_constraints:
        fig="|".join(sorted({f for p in PIPELINE.papers for f in PIPELINE.figures(p)})),
    params:
        scale=SCALE,
        preset=PIPELINE.params.scale(SCALE),  # shown in the report caption
    threads: THREADS
    log:
        "logs/figures/{paper}/{fig}.log",
    shell:
        "OMP_NUM_THREADS={threads} ganrepro figures --paper {wildcards.paper} --scale {params.scale} --figure {wildcards.fig} > {log} 2>&1"
