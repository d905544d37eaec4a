# Evaluation: FID/KID/precision/recall (torch-fidelity) or StackedMNIST mode counting. The job holds the
# network, so it also draws the run's sample grid (fixed latent seeds 0-7, the same for every run, so the rows
# of a table compare image by image), flagged for `snakemake --report` (category = paper, subcategory = samples).


rule evaluate:
    input:
        PIPELINE.rule_input("evaluate"),  # network, result (kimg and status for the grid's caption), instruments, data
    output:
        metrics=PIPELINE.rule_output("evaluate")[0],
        samples=report(PIPELINE.rule_output("evaluate")[1], caption="../report/samples.rst",
                       category="{paper}", subcategory="samples"),
    threads: THREADS
    resources:
        gpu=lambda w: min(1, PIPELINE.gpus(w.paper, w.exp)),  # 1 when the run trains on GPU (Inception FID), else 0
    log:
        paths.log(SCALE, "evaluate", "{paper}", "{exp}"),
    benchmark:
        f"benchmarks/{SCALE}/evaluate/{{paper}}/{{exp}}.tsv"
    shell:
        PIPELINE.rule_shell("evaluate")


rule count_params:
    output:
        PIPELINE.rule_output("count-params"),
    threads: THREADS
    log:
        paths.log("count_params", "{paper}"),
    shell:
        PIPELINE.rule_shell("count-params")


rule cost_bench:  # memory and time per training iteration, for tables' `source: cost` cells
    output:
        PIPELINE.rule_output("cost-bench"),
    threads: THREADS
    log:
        paths.log("cost_bench", "{paper}"),
    shell:
        PIPELINE.rule_shell("cost-bench")
