# What a reader looks at first: sample grids of every run beside real images of its data, the agreement of
# each paper's tables with the paper (Kendall tau, flipped pairs, ablation steps), and one overview page.
# Every output is flagged for `snakemake --report`: category = paper, subcategory = samples | agreement.
# Sample grids use the same latent seeds (`ganrepro samples` default 0-7) for every run, so the rows of a
# table compare image by image.


# results/tables/{paper}/agreement.{csv,md} would also match the table rule's results/tables/{paper}/{table}.*:
# no table is called "agreement".
wildcard_constraints:
    table=r"(?!agreement\b)\w+",


rule samples:
    input:
        network=paths.network(SCALE, "{paper}", "{exp}"),
        result=paths.result(SCALE, "{paper}", "{exp}"),  # kimg and status for the caption strip
    output:
        report(paths.sample_grid("{paper}", "{exp}"), caption="../report/samples.rst",
               category="{paper}", subcategory="samples"),
    threads: THREADS
    log:
        "logs/samples/{paper}/{exp}.log",
    shell:
        "OMP_NUM_THREADS={threads} ganrepro samples --network {input.network} --out {output} > {log} 2>&1"


rule real_samples:
    input:
        paths.dataset_manifest(SCALE, "{dataset}"),
    output:
        report(paths.real_grid("{paper}", "{dataset}"), caption="../report/real_samples.rst",
               category="{paper}", subcategory="samples"),
    params:
        dataset_dir=lambda w: PIPELINE.dataset_dir(w.dataset),
    threads: THREADS
    log:
        "logs/samples/{paper}/real-{dataset}.log",
    shell:
        "OMP_NUM_THREADS={threads} ganrepro real-samples --dataset-dir {params.dataset_dir} --out {output} > {log} 2>&1"


rule agreement:
    input:
        lambda w: [PIPELINE.table_files(w.paper, t)[0] for t in PIPELINE.tables(w.paper)],
    output:
        csv=report(paths.table("{paper}", "agreement", "csv"), caption="../report/agreement.rst",
                   category="{paper}", subcategory="agreement"),
        md=report(paths.table("{paper}", "agreement", "md"), caption="../report/agreement.rst",
                  category="{paper}", subcategory="agreement"),
    threads: THREADS
    log:
        "logs/agreement/{paper}.log",
    shell:
        "OMP_NUM_THREADS={threads} ganrepro agreement --paper {wildcards.paper} > {log} 2>&1"


rule overview:
    input:
        PIPELINE.overview_inputs(),
    output:
        report(PIPELINE.OVERVIEW, caption="../report/overview.rst", category="overview"),
    params:
        papers=" ".join(PIPELINE.papers),
        scale=SCALE,
    threads: THREADS
    log:
        "logs/overview.log",
    shell:
        "OMP_NUM_THREADS={threads} ganrepro overview --papers {params.papers} --scale {params.scale} > {log} 2>&1"
