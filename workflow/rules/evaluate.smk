# Evaluation: FID/KID/precision/recall (torch-fidelity) or StackedMNIST mode counting.


rule evaluate:
    input:
        network="runs/{scale}/{paper}/{exp}/network.pt",
        result="runs/{scale}/{paper}/{exp}/result.json",
        instruments=lambda w: PIPELINE.instruments(w.paper, w.exp),
    output:
        "results/metrics/{scale}/{paper}/{exp}.json",
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
        "results/metrics/params/{paper}.json",
    threads: THREADS
    log:
        "logs/count_params/{paper}.log",
    shell:
        "OMP_NUM_THREADS={threads} ganrepro count-params --paper {wildcards.paper} --out {output} > {log} 2>&1"
