# Tables (one target per table) and figures.


rule table:
    input:
        metrics=lambda w: [f"results/metrics/{SCALE}/{w.paper}/{e}.json" for e in PIPELINE.table_experiments(w.paper, w.table)],
        params=lambda w: PIPELINE.param_counts(w.paper),
    output:
        csv=report("results/tables/{paper}/{table}.csv", category="{paper}", subcategory="{table}"),
        md="results/tables/{paper}/{table}.md",
    log:
        "logs/tables/{paper}/{table}.log",
    shell:
        "OMP_NUM_THREADS={threads} ganrepro tables --paper {wildcards.paper} --scale " + SCALE + " --table {wildcards.table} > {log} 2>&1"


rule figures:
    input:
        lambda w: [f"runs/{SCALE}/{w.paper}/{e}/result.json" for e in PIPELINE.experiments(w.paper)],
    output:
        report(expand("results/figures/{{paper}}/{fig}.png", fig=["fig1_g_loss", "training_curves"]),
               category="{paper}", subcategory="figures"),
    log:
        "logs/figures/{paper}.log",
    shell:
        "OMP_NUM_THREADS={threads} ganrepro figures --paper {wildcards.paper} --scale " + SCALE + " > {log} 2>&1"
