# Training: one job per experiment (table row or ablation); data-parallel over the job's GPUs through
# torchrun when it has more than one (the loop reads RANK/WORLD_SIZE/LOCAL_RANK). Resumable: the training state
# (runs/.../state.pt) is deliberately NOT a declared output, so Snakemake never deletes it.
# A run that starts from another run's network (`init_from` in params: the next stage of a multi-stage
# schedule) depends on that network. Threads come from the resolved config (OMP_NUM_THREADS and
# torch.set_num_threads agree), so a run trained here equals one started by hand.


rule train:
    input:
        PIPELINE.rule_input("train"),
    output:
        network=PIPELINE.rule_output("train")[0],
        result=PIPELINE.rule_output("train")[1],
    params:
        fingerprint=lambda w: PIPELINE.fingerprint(w.paper, w.exp),
        launcher=lambda w: PIPELINE.train_launcher(w.paper, w.exp),
    threads: lambda w: PIPELINE.threads(w.paper, w.exp)
    resources:
        gpu=lambda w: PIPELINE.gpus(w.paper, w.exp),
        gpu_hours=lambda w: PIPELINE.gpu_hours_label(w.paper, w.exp),
        runtime=lambda w, attempt: PIPELINE.runtime_minutes(w.paper, w.exp) * attempt,
    log:
        paths.log(SCALE, "train", "{paper}", "{exp}"),
    benchmark:
        f"benchmarks/{SCALE}/train/{{paper}}/{{exp}}.tsv"
    shell:
        PIPELINE.rule_shell("train")
