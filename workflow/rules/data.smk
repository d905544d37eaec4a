# Data preparation and the pipeline's own measuring instruments.


rule prepare_data:
    output:
        "data/{scale}/{dataset}/manifest.json",
    params:
        spec=lambda w: PIPELINE.params.datasets[w.dataset]["title"],
    log:
        "logs/{scale}/prepare_data/{dataset}.log",
    shell:
        "OMP_NUM_THREADS={threads} ganrepro prepare-data --dataset {wildcards.dataset} --scale {wildcards.scale} > {log} 2>&1"


rule train_extractor:
    output:
        "data/{scale}/instruments/feature_cnn.pt",
    log:
        "logs/{scale}/instruments/feature_cnn.log",
    shell:
        "OMP_NUM_THREADS={threads} ganrepro train-extractor --scale {wildcards.scale} > {log} 2>&1"


rule train_digit_classifier:
    output:
        "data/{scale}/instruments/digit_cnn.pt",
    log:
        "logs/{scale}/instruments/digit_cnn.log",
    shell:
        "OMP_NUM_THREADS={threads} ganrepro train-digit-classifier --scale {wildcards.scale} > {log} 2>&1"
