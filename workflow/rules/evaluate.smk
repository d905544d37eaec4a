# Evaluation: FID/KID/precision/recall (torch-fidelity) or StackedMNIST mode counting. The job holds the
# network, so it also draws the run's sample grid (fixed latent seeds 0-7, the same for every run, so the rows
# of a table compare image by image), flagged for `snakemake --report` (category = paper, subcategory = samples).


rule evaluate:
    input:
        network=paths.network(SCALE, "{paper}", "{exp}"),
        result=paths.result(SCALE, "{paper}", "{exp}"),  # kimg and status for the grid's caption strip
        instruments=lambda w: PIPELINE.instruments(w.paper, w.exp),
    output:
        metrics=paths.metrics(SCALE, "{paper}", "{exp}"),
        samples=report(paths.sample_grid("{paper}", "{exp}"), caption="../report/samples.rst",
                       category="{paper}", subcategory="samples"),
    params:
        scale=SCALE,
    threads: THREADS
    resources:
        gpu=lambda w: min(1, PIPELINE.gpus(w.paper, w.exp)),  # 1 when the run trains on GPU (Inception FID), else 0
    log:
        paths.log(SCALE, "evaluate", "{paper}", "{exp}"),
    benchmark:
        f"benchmarks/{SCALE}/evaluate/{{paper}}/{{exp}}.tsv"
    shell:
        "OMP_NUM_THREADS={threads} ganrepro evaluate --paper {wildcards.paper} --experiment {wildcards.exp} --scale {params.scale}"
        " --samples {output.samples} > {log} 2>&1"


rule count_params:
    output:
        paths.param_counts("{paper}"),
    threads: THREADS
    log:
        paths.log("count_params", "{paper}"),
    shell:
        "OMP_NUM_THREADS={threads} ganrepro count-params --paper {wildcards.paper} --out {output} > {log} 2>&1"


rule cost_bench:  # memory and time per training iteration, for tables' `source: cost` cells
    output:
        paths.cost_bench(SCALE, "{paper}"),
    params:
        scale=SCALE,
    threads: THREADS
    log:
        paths.log("cost_bench", "{paper}"),
    shell:
        "OMP_NUM_THREADS={threads} ganrepro cost-bench --paper {wildcards.paper} --scale {params.scale} --out {output} > {log} 2>&1"
