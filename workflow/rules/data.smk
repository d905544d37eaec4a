# Data preparation and the pipeline's own measuring instruments. Paths come from PIPELINE (ganrepro.paths).


rule prepare_data:
    output:
        paths.dataset_manifest("{scale}", "{dataset}"),
    threads: THREADS
    log:
        "logs/{scale}/prepare_data/{dataset}.log",
    shell:
        "OMP_NUM_THREADS={threads} ganrepro prepare-data --dataset {wildcards.dataset} --scale {wildcards.scale} > {log} 2>&1"


rule train_extractor:
    output:
        PIPELINE.instrument_paths()["feature_cnn"],
    params:
        scale=SCALE,
    threads: THREADS
    log:
        f"logs/{SCALE}/instruments/feature_cnn.log",
    shell:
        "OMP_NUM_THREADS={threads} ganrepro train-extractor --scale {params.scale} > {log} 2>&1"


rule train_digit_classifier:
    output:
        PIPELINE.instrument_paths()["digit_cnn"],
    params:
        scale=SCALE,
    threads: THREADS
    log:
        f"logs/{SCALE}/instruments/digit_cnn.log",
    shell:
        "OMP_NUM_THREADS={threads} ganrepro train-digit-classifier --scale {params.scale} > {log} 2>&1"
