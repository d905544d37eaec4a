# Data preparation and the pipeline's own measuring instruments. Inputs, outputs and commands come from the stage
# table (ganrepro/orchestration/stage_table.py), which dvc.yaml is built from too.


rule prepare_data:
    output:
        PIPELINE.rule_output("prepare-data"),
    threads: THREADS
    log:
        paths.log(SCALE, "prepare_data", "{dataset}"),
    shell:
        PIPELINE.rule_shell("prepare-data")


rule train_extractor:
    output:
        PIPELINE.rule_output("train-extractor"),
    threads: THREADS
    log:
        paths.log(SCALE, "instruments", "feature_cnn"),
    shell:
        PIPELINE.rule_shell("train-extractor")


rule train_digit_classifier:
    output:
        PIPELINE.rule_output("train-digit-classifier"),
    threads: THREADS
    log:
        paths.log(SCALE, "instruments", "digit_cnn"),
    shell:
        PIPELINE.rule_shell("train-digit-classifier")
