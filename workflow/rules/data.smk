# Data preparation and the pipeline's own measuring instruments. Paths come from PIPELINE (ganrepro.paths).


rule prepare_data:
    output:
        paths.dataset_manifest("{scale}", "{dataset}"),
    threads: THREADS
    log:
        paths.log("{scale}", "prepare_data", "{dataset}"),
    shell:
        "OMP_NUM_THREADS={threads} ganrepro prepare-data --dataset {wildcards.dataset} --scale {wildcards.scale} > {log} 2>&1"


rule train_extractor:
    output:
        PIPELINE.instrument_paths()["feature_cnn"],
    params:
        scale=SCALE,
    threads: THREADS
    log:
        paths.log(SCALE, "instruments", "feature_cnn"),
    shell:
        "OMP_NUM_THREADS={threads} ganrepro train-extractor --scale {params.scale} > {log} 2>&1"


rule train_digit_classifier:
    output:
        PIPELINE.instrument_paths()["digit_cnn"],
    params:
        scale=SCALE,
    threads: THREADS
    log:
        paths.log(SCALE, "instruments", "digit_cnn"),
    shell:
        "OMP_NUM_THREADS={threads} ganrepro train-digit-classifier --scale {params.scale} > {log} 2>&1"
