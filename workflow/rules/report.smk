# Tables (one target per table) and figures. Both are flagged for `snakemake --report report.html`:
# category = paper, subcategory = table (or "figures"); captions in workflow/report/ show the config.


rule table:
    input:
        metrics=lambda w: [f"results/metrics/{SCALE}/{w.paper}/{e}.json" for e in PIPELINE.table_experiments(w.paper, w.table)],
        params=lambda w: PIPELINE.param_counts(w.paper),
    output:
        csv=report("results/tables/{paper}/{table}.csv", caption="../report/table.rst",
                   category="{paper}", subcategory="{table}"),
        md=report("results/tables/{paper}/{table}.md", caption="../report/table.rst",
                  category="{paper}", subcategory="{table}"),
        metrics="results/tables/{paper}/{table}.json",  # reproduced cells as JSON (DVC metrics)
    params:
        preset=PIPELINE.params.scale(SCALE),  # shown in the report caption
    log:
        "logs/tables/{paper}/{table}.log",
    shell:
        "OMP_NUM_THREADS={threads} ganrepro tables --paper {wildcards.paper} --scale " + SCALE + " --table {wildcards.table} > {log} 2>&1"


rule figures:
    input:
        lambda w: [f"runs/{SCALE}/{w.paper}/{e}/result.json" for e in PIPELINE.experiments(w.paper)],
    output:
        report(expand("results/figures/{{paper}}/{fig}.png", fig=["fig1_g_loss", "training_curves"]),
               caption="../report/figure.rst", category="{paper}", subcategory="figures"),
    params:
        preset=PIPELINE.params.scale(SCALE),  # shown in the report caption
    log:
        "logs/figures/{paper}.log",
    shell:
        "OMP_NUM_THREADS={threads} ganrepro figures --paper {wildcards.paper} --scale " + SCALE + " > {log} 2>&1"
