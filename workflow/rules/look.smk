# What a reader looks at first: sample grids of every run (written by `evaluate`, evaluate.smk) beside real images
# of its data (written by the paper's `figures_<paper>` job, report.smk), the agreement of each paper's tables
# with the paper (its `tables_<paper>` job), and one overview page.


rule overview:
    input:
        PIPELINE.rule_input("overview"),
    output:
        report(PIPELINE.OVERVIEW, caption="../report/overview.rst", category="overview"),
    params:
        papers=" ".join(PIPELINE.papers),
        scale=SCALE,
    threads: THREADS
    log:
        paths.log("overview"),
    shell:
        PIPELINE.rule_shell("overview")
