# Every job runs with OMP_NUM_THREADS={threads} (default 1): on a small CPU machine, parallel jobs with
# default thread pools oversubscribe the cores and run ~10x slower.
# Training: one job per experiment (table row or ablation); data-parallel over the job's GPUs through
# torchrun when it has more than one (the loop reads RANK/WORLD_SIZE/LOCAL_RANK). Resumable: the training state
# (runs/.../state.pt) is deliberately NOT a declared output, so Snakemake never deletes it.


rule train:
    input:
        lambda w: PIPELINE.dataset_manifest(PIPELINE.run(w.paper, w.exp)["dataset"]["key"]),
    output:
        network="runs/{scale}/{paper}/{exp}/network.pt",
        result="runs/{scale}/{paper}/{exp}/result.json",
    params:
        fingerprint=lambda w: PIPELINE.fingerprint(w.paper, w.exp),
        launcher=lambda w: PIPELINE.train_launcher(w.paper, w.exp),
    resources:
        gpu=lambda w: PIPELINE.gpus(w.paper, w.exp),
        gpu_hours=lambda w: PIPELINE.gpu_hours_label(w.paper, w.exp),
        runtime=lambda w, attempt: PIPELINE.runtime_minutes(w.paper, w.exp) * attempt,
    log:
        "logs/{scale}/train/{paper}/{exp}.log",
    benchmark:
        "benchmarks/{scale}/train/{paper}/{exp}.tsv"
    shell:
        "OMP_NUM_THREADS={threads} {params.launcher} train --paper {wildcards.paper} --experiment {wildcards.exp} --scale {wildcards.scale}"
        " --no-progress > {log} 2>&1"
