# Tables and figures: ONE job per paper for all its tables (+ their agreement with the paper) and one for all its
# figures (+ the real-image grids of its datasets): each `ganrepro` process pays for its start and its imports,
# which at small scales cost more than the work. Outputs are flagged for `snakemake --report report.html`:
# category = paper, subcategory = table (or "agreement", "figures", "samples"); captions in workflow/report/ show
# the config. The figures of a paper are its registered builders (ganrepro.papers.<paper>) plus the generic ones.


def _table_reports(paper):
    out = []
    for table in PIPELINE.tables(paper):
        csv, md, json = PIPELINE.table_files(paper, table)
        out += [report(f, caption="../report/table.rst", category=paper, subcategory=table) for f in (csv, md)]
        out.append(json)  # reproduced cells as JSON (DVC metrics)
    return out + [report(f, caption="../report/agreement.rst", category=paper, subcategory="agreement")
                  for f in PIPELINE.agreement_files(paper)]


def _figure_reports(paper):
    return ([report(f, caption="../report/figure.rst", category=paper, subcategory="figures")
             for f in PIPELINE.figure_files(paper)]
            + [report(f, caption="../report/real_samples.rst", category=paper, subcategory="samples")
               for f in PIPELINE.real_grids(paper)])


for _paper in PIPELINE.papers:

    rule:
        name:
            f"tables_{_paper}"
        input:
            PIPELINE.rule_input("tables", paper=_paper),
        output:
            _table_reports(_paper),
        params:
            **PIPELINE.rule_params("tables", paper=_paper),
            tables=", ".join(PIPELINE.tables(_paper)),
            scale=SCALE,
            preset=PIPELINE.params.scale(SCALE),  # shown in the report caption
        threads: THREADS
        log:
            paths.log("tables", _paper),
        shell:
            PIPELINE.rule_shell("tables", fixed=True)  # from params: the line is read again when the job runs

    rule:
        name:
            f"figures_{_paper}"
        input:
            PIPELINE.rule_input("figures", paper=_paper),
        output:
            _figure_reports(_paper),
        params:
            **PIPELINE.rule_params("figures", paper=_paper),  # paper, datasets: the command reads them from here
            scale=SCALE,
            preset=PIPELINE.params.scale(SCALE),  # shown in the report caption
        threads: THREADS
        log:
            paths.log("figures", _paper),
        shell:
            PIPELINE.rule_shell("figures", fixed=True)
