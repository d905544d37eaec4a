# Evaluation: FID/KID/precision/recall (torch-fidelity) or StackedMNIST mode counting.


rule evaluate:
    input:
        network=paths.network("{scale}", "{paper}", "{exp}"),
        result=paths.result("{scale}", "{paper}", "{exp}"),
        instruments=lambda w: PIPELINE.instruments(w.paper, w.exp),
    output:
        paths.metrics("{scale}", "{paper}", "{exp}"),
    threads: THREADS
    resources:
        gpu=lambda w: min(1, PIPELINE.gpus(w.paper, w.exp)),  # 1 when the run trains on GPU (Inception FID), else 0
    log:
        "logs/{scale}/evaluate/{paper}/{exp}.log",
    benchmark:
        "benchmarks/{scale}/evaluate/{paper}/{exp}.tsv"
    shell:
        "OMP_NUM_THREADS={threads} ganrepro evaluate --paper {wildcards.paper} --experiment {wildcards.exp} --scale {wildcards.scale}"
        " > {log} 2>&1"


rule count_params:
    output:
        paths.param_counts("{paper}"),
    threads: THREADS
    log:
        "logs/count_params/{paper}.log",
    shell:
        "OMP_NUM_THREADS={threads} ganrepro count-params --paper {wildcards.paper} --out {output} > {log} 2>&1"


rule cost_bench:  # memory and time per training iteration, for tables' `source: cost` cells
    output:
        paths.cost_bench(SCALE, "{paper}"),
    params:
        scale=SCALE,
    threads: THREADS
    log:
        "logs/cost_bench/{paper}.log",
    shell:
        "OMP_NUM_THREADS={threads} ganrepro cost-bench --paper {wildcards.paper} --scale {params.scale} --out {output} > {log} 2>&1"
