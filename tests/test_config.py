import shutil
from pathlib import Path

import pytest
import yaml

from ganrepro.config import dataset_config, list_experiments, load_params, resolve_run
from ganrepro.errors import ConfigError

PARAMS = Path(__file__).resolve().parents[1] / "params"

EXPECTED = {
    "t1-rpgan-r1r2", "t1-gan-r1r2", "t1-rpgan-r1", "t1-gan-r1",
    "t2-a-stylegan2", "t2-b-stripped", "t2-c-rpgan-r1", "t2-c-rpgan-r1r2", "t2-d-resnet-skips",
    "t2-d-resnet", "t2-e-grouped", "t2-e-inverted", "t3-e-stackedmnist", "t4-e-ffhq256",
    "t5-e-ffhq64", "t6-e-cifar10", "t7-e-imagenet32", "t8-e-imagenet64",
}


def test_registry_has_every_r3gan_run():
    assert set(list_experiments("r3gan")) == EXPECTED | {"learn-e-stackedmnist", "learn-e-cifar10"}


def test_every_reported_row_points_to_a_known_experiment():
    params = load_params()
    exps = set(list_experiments("r3gan", params))
    for table in params.reported["r3gan"]["tables"].values():
        for row in table["rows"]:
            assert row.get("experiment") in exps | {None}, row


@pytest.mark.parametrize("scale", ["tiny", "smoke", "paper"])
@pytest.mark.parametrize("exp", sorted(EXPECTED))
def test_resolve_every_run_at_every_scale(scale, exp):
    cfg = resolve_run("r3gan", exp, scale)
    assert cfg["train"]["batch"] >= 1 and cfg["train"]["kimg"] > 0
    if scale == "paper":
        assert cfg["model"] == cfg["model_paper"]
        assert cfg["dataset"]["standin_for"] is None
    else:
        assert cfg["dataset"]["source"] == "embedded" and cfg["dataset"]["standin_for"]


def test_paper_scale_uses_table9_values():
    cfg = resolve_run("r3gan", "t4-e-ffhq256", "paper")
    assert cfg["dataset"]["resolution"] == 256
    assert cfg["train"]["batch"] == 256 and cfg["train"]["kimg"] == 200_000
    g, h = cfg["schedule"]["gamma"], cfg["schedule"]["ema_halflife_kimg"]
    assert (g["curve"], g["start"], g["end"], g["kimg"]) == ("cosine", 150.0, 15.0, 20_000.0)
    assert (h["start"], h["end"]) == (0.0, 500.0)
    assert cfg["model"]["widths"] == [768, 768, 768, 768, 384, 192, 96]


def test_small_scale_compresses_schedules_by_one_ratio():
    cfg = resolve_run("r3gan", "t6-e-cifar10", "smoke")
    ratio = cfg["train"]["kimg"] / 250_000
    held = {"lr", "gamma", "aug_p"}  # held constant by R3GAN's small-scale recipe (tests/test_learning_gates.py)
    for name, entry in cfg["schedule"].items():  # every other burn-in shrinks by the same ratio
        if name not in held:
            assert entry["kimg"] == pytest.approx(20_000 * ratio)
    assert cfg["schedule"]["ema_halflife_kimg"]["end"] == pytest.approx(5_000 * ratio)


def test_gamma_follows_the_scales_resolution_rule():
    from ganrepro.config.resolve import gamma_resolution_factor

    assert gamma_resolution_factor("quadratic", 16, 32) == 0.25  # the StyleGAN rule of thumb
    assert gamma_resolution_factor("linear", 16, 256) == 1 / 16  # R3GAN's small-scale recipe
    assert gamma_resolution_factor("none", 16, 256) == 1.0
    cfg = resolve_run("inr_multistage", "image-ffhq", "smoke")  # no recipe: the smoke preset's quadratic rule
    assert cfg["train"]["gamma_factor"] == pytest.approx((cfg["dataset"]["resolution"] / 256) ** 2)


def test_schedule_entries_of_any_curve_resolve_as_data():
    from ganrepro.config.resolve import resolve_schedule

    sched = resolve_schedule({"burnin_mimg": 2, "lr": [1.0, 0.5],
                              "patch_beta": {"curve": "linear", "start": 0.0, "end": 0.8, "mimg": 10},
                              "blur_sigma": {"curve": "constant", "start": 10.0},
                              "fade_mimg": {"curve": "linear", "start": 1.0, "end": 0.0, "mimg": 4}},
                             time_ratio=0.5, gamma_factor=1.0)
    assert sched["lr"] == {"curve": "cosine", "start": 1.0, "end": 0.5, "kimg": 1000.0}
    assert sched["patch_beta"] == {"curve": "linear", "start": 0.0, "end": 0.8, "kimg": 5000.0}
    assert sched["blur_sigma"] == {"curve": "constant", "start": 10.0, "end": 10.0, "kimg": 0.0}
    assert sched["fade_kimg"]["start"] == 500.0  # a duration in Mimg is compressed and renamed


def test_family_switch_does_not_leak_knobs():
    cfg = resolve_run("r3gan", "t2-a-stylegan2", "paper")
    assert cfg["model"]["family"] == "stylegan2" and "widths" not in cfg["model"]


def test_stand_in_named_and_conditioning_kept():
    cfg = dataset_config("cifar10", "smoke")
    assert cfg["standin_for"].startswith("CIFAR-10") and cfg["num_classes"] == 10
    assert dataset_config("ffhq256", "smoke")["num_classes"] == 0


def test_unknown_names_list_allowed_values():
    with pytest.raises(ConfigError, match="unknown experiment .*allowed: t1-rpgan-r1r2"):
        resolve_run("r3gan", "t9-nope", "smoke")
    with pytest.raises(ConfigError, match="unknown scale 'huge'; allowed: paper, smoke, tiny"):
        resolve_run("r3gan", "t3-e-stackedmnist", "huge")
    with pytest.raises(ConfigError, match="unknown paper"):
        list_experiments("nope")


def _broken_copy(tmp_path, edit):
    root = tmp_path / "params"
    shutil.copytree(PARAMS, root)
    path = root / "experiments" / "r3gan.yaml"
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data))
    return root, path


@pytest.mark.parametrize("edit,pattern", [
    (lambda d: d["experiments"]["t1-gan-r1"]["loss"].update(objetive="rpgan"),
     r"unknown key experiments\.t1-gan-r1\.loss\.objetive; allowed keys here: objective, phases, pl_weight, r1, r2"),
    (lambda d: d["experiments"]["t1-gan-r1"]["loss"].update(objective="wgan"),
     r"experiments\.t1-gan-r1\.loss\.objective: 'wgan' is not one of .*allowed: 'rpgan', 'nsgan'"),
    (lambda d: d["presets"]["cifar10"].update(dataset="cifar100"),
     r"presets\.cifar10\.dataset: unknown dataset 'cifar100'; allowed: .*cifar10, .*ffhq256"),
    (lambda d: d["experiments"]["t1-gan-r1"].update(preset="nope"),
     r"experiments\.t1-gan-r1\.preset: unknown preset 'nope'"),
    (lambda d: d["experiments"]["t1-gan-r1"].update(tables=[]),  # the row of table1 still names it
     r"tables\.table1, row .* is measured by experiment 't1-gan-r1', but .* does not list 'table1'"),
    (lambda d: d["experiments"]["t1-gan-r1"].update(tables=["table1", "table4"]),  # no row of table4 names it
     r"experiments\.t1-gan-r1\.tables lists 'table4', but no row of 'table4'"),
    (lambda d: d["small_scale"]["scales"]["smoke"].update(preset_kimg={"stackedmnst": 40}),
     r"small_scale\.scales\.smoke\.preset_kimg: unknown preset 'stackedmnst'; allowed: .*stackedmnist"),
])
def test_schema_errors_name_file_key_and_allowed_values(tmp_path, edit, pattern):
    root, path = _broken_copy(tmp_path, edit)
    with pytest.raises(ConfigError, match=pattern) as info:
        load_params(root)
    assert str(path) in str(info.value)


def test_a_paper_declares_its_own_datasets_and_may_not_take_a_shared_name(tmp_path):
    own = {"title": "Own 32", "resolution": 32, "channels": 3, "num_classes": 0,
           "real": {"source": "image_folder", "path": "data/raw/own"}, "standin": {"generator": "shapes", "title": "s"}}

    def params_with(name: str, datasets: dict) -> Path:
        root = tmp_path / name  # one copy each: params are cached per root
        shutil.copytree(PARAMS, root)
        path = root / "experiments" / "epigraf.yaml"
        path.write_text(yaml.safe_dump({**yaml.safe_load(path.read_text()), "datasets": datasets}, sort_keys=False))
        return root

    params = load_params(params_with("own", {"own32": own}))
    assert params.datasets["own32"] == own and params.dataset_file("own32") == "params/experiments/epigraf.yaml"
    assert params.dataset_file("ffhq64") == "params/datasets.yaml"
    with pytest.raises(ConfigError, match=r"epigraf\.yaml: datasets \['ffhq64'\] are already declared"):
        load_params(params_with("shared", {"ffhq64": own}))  # a shared name: refused, naming the file
    with pytest.raises(ConfigError, match="epigraf.yaml"):
        load_params(params_with("bad", {"bad": {**own, "channels": 2}}))  # validated by the datasets schema


def test_stand_in_generators_register_once_and_unknown_names_say_how_to_add_one():
    from ganrepro.data.embedded import EMBEDDED, generate, make_shapes
    from ganrepro.standins import register_generator
    from ganrepro.errors import DatasetError

    register_generator("shapes", make_shapes)  # the same function again: a no-op
    with pytest.raises(DatasetError, match="registered twice"):
        register_generator("shapes", lambda **kw: None)
    with pytest.raises(DatasetError, match="register_generator"):
        generate("no_such_generator", resolution=8, count=1, seed=0)
    assert EMBEDDED["shapes"] is make_shapes


def test_malformed_yaml_names_the_file(tmp_path):
    root = tmp_path / "params"
    shutil.copytree(PARAMS, root)
    (root / "scales" / "smoke.yaml").write_text("name: smoke\n  bad: [indent\n")
    with pytest.raises(ConfigError, match=r"smoke\.yaml: not valid YAML"):
        load_params(root)


def test_seeds_are_a_dimension_of_every_experiment(tmp_path):
    from ganrepro.config.resolve import seed_variants, split_seed
    from ganrepro.orchestration.dag import PipelineDAG

    assert seed_variants("t1-gan-r1", 3) == ["t1-gan-r1", "t1-gan-r1-seed1", "t1-gan-r1-seed2"]
    assert split_seed("t1-gan-r1-seed2") == ("t1-gan-r1", 2) and split_seed("t1-gan-r1") == ("t1-gan-r1", 0)
    with pytest.raises(ConfigError, match="beyond the scale's `seeds: 1`"):
        resolve_run("r3gan", "t1-gan-r1-seed1", "tiny")
    import os

    params = tmp_path / "params"
    shutil.copytree(PARAMS, params)
    scale = params / "scales" / "tiny.yaml"
    scale.write_text(scale.read_text().replace("seeds: 1", "seeds: 2"))
    os.environ["GANREPRO_PARAMS"] = str(params)
    try:
        dag = PipelineDAG("tiny", "r3gan")
        second = dag.run("r3gan", "t1-gan-r1-seed1")
        assert second["seed"] == dag.run("r3gan", "t1-gan-r1")["seed"] + 1
        assert second["paths"]["run_dir"].endswith("t1-gan-r1-seed1")
        assert "t1-gan-r1-seed1" in dag.table_experiments("r3gan", "table1")
        assert len(dag.runs) == 2 * len(list_experiments("r3gan"))
    finally:
        del os.environ["GANREPRO_PARAMS"]


def test_cells_over_seeds_are_mean_and_sample_std():
    from ganrepro.reports.tables import _over_seeds

    cell, std = _over_seeds([{"reproduced": v, "status": "reproduced", "metric_name": "fid"} for v in (1.0, 3.0)])
    assert cell["reproduced"] == 2.0 and std == pytest.approx(2 ** 0.5)
    assert "over 2 seeds" in cell["status"]
    cell, std = _over_seeds([{"reproduced": 4.0, "status": "reproduced", "metric_name": ""},
                             {"reproduced": "Fail", "status": "fail", "metric_name": ""}])
    assert cell["reproduced"] == 4.0 and std == 0.0 and "1 failed" in cell["status"]


@pytest.mark.parametrize("scale, batch, batch_gpu", [("paper", 32, 1), ("smoke", 16, 4), ("tiny", 8, 2)])
def test_gradient_accumulation_keeps_the_papers_rounds_per_device_at_every_scale(scale, batch, batch_gpu):
    cfg = resolve_run("inr_multistage", "gradaccum-ffhq", scale)
    assert (cfg["train"]["batch"], cfg["train"]["batch_gpu"]) == (batch, batch_gpu)
    # paper: 32 over 8 GPUs = 4 per GPU in micro-batches of 1 = 4 rounds; one device at small scales: 4 rounds
    assert cfg["train"]["batch"] // (cfg["resources"]["gpus"] if scale == "paper" else 1) // cfg["train"]["batch_gpu"] == 4


def test_best_fid_selection_needs_an_fid_evaluation(tmp_path):
    import shutil

    import yaml

    from ganrepro.config import resolve_run
    from ganrepro.config.load import load_params
    from ganrepro.errors import ConfigError

    shutil.copytree(Path(__file__).resolve().parents[1] / "params", tmp_path / "params")
    path = tmp_path / "params" / "experiments" / "r3gan.yaml"
    data = yaml.safe_load(path.read_text())
    data["experiments"]["t3-e-stackedmnist"]["eval"] = {"kind": "modes", "select": "best_fid"}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ConfigError, match="select: final"):
        resolve_run("r3gan", "t3-e-stackedmnist", "tiny", params=load_params(tmp_path / "params"))


def test_runs_without_ada_carry_no_ada_key_and_epigraf_samples_never_exceed_the_papers():
    from ganrepro.config import resolve_run

    assert "ada" not in resolve_run("r3gan", "t2-e-inverted", "tiny")  # their run identity is as before ADA
    paper = resolve_run("epigraf", "t1-epigraf-cats256", "paper")
    assert (paper["model"]["n_coarse"], paper["model"]["n_fine"], paper["model"]["bg_steps"]) == (48, 48, 8)
    smoke = resolve_run("epigraf", "t1-epigraf-cats256", "smoke")
    assert (smoke["model"]["n_coarse"], smoke["model"]["bg_steps"]) == (12, 4)


def test_epigraf_recipe_turns_ada_off_at_small_scales_only_and_the_tables_say_so():
    from ganrepro.config import resolve_run
    from ganrepro.reports.tables import recipe_text

    paper = resolve_run("epigraf", "t1-epigraf-ffhq256", "paper")
    assert paper["ada"]["target"] == 0.6 and "recipe" not in paper  # the official default, untouched
    for scale in ("tiny", "smoke"):
        small = resolve_run("epigraf", "t1-epigraf-ffhq256", scale)
        assert "ada" not in small and small["schedule"]["aug_p"]["start"] == 0.0
        assert small["augment"] == "epigraf"  # the pipeline still runs, at p = 0
        assert "ADA off" in recipe_text(small["recipe"])


def test_table9_settings_show_gs_lr_ratio_as_used():
    from ganrepro.papers.r3gan.settings import used_settings

    assert used_settings("r3gan", "t6-e-cifar10", "paper")["g_lr_mult"] == 1.0  # the paper: one lr for both
    assert used_settings("r3gan", "t6-e-cifar10", "smoke")["g_lr_mult"] == 0.5  # the small-scale recipe


def test_a_preset_keeps_its_own_small_scale_length_for_every_row_and_the_paper_scale_is_untouched():
    """StackedMNIST (Tables 1 and 3) trains its own smoke length (``preset_kimg``), every loss row alike and its
    learning run too; the other presets the scale's kimg; a learning run without a preset length the scale's
    learning_kimg; the paper scale its own duration."""
    params = load_params()
    sizes = params.experiments["r3gan"]["small_scale"]["scales"]["smoke"]
    rows = ["t1-rpgan-r1r2", "t1-gan-r1r2", "t1-rpgan-r1", "t1-gan-r1", "t3-e-stackedmnist", "learn-e-stackedmnist"]
    assert {resolve_run("r3gan", e, "smoke")["train"]["kimg"] for e in rows} == {sizes["preset_kimg"]["stackedmnist"]}
    assert resolve_run("r3gan", "t5-e-ffhq64", "smoke")["train"]["kimg"] == sizes["kimg"] != sizes["preset_kimg"]["stackedmnist"]
    assert resolve_run("r3gan", "learn-e-cifar10", "smoke")["train"]["kimg"] == sizes["preset_kimg"]["cifar10"]
    assert resolve_run("r3gan", "t7-e-imagenet32", "smoke")["train"]["kimg"] == sizes["kimg"]
    assert resolve_run("r3gan", "learn-e-cifar10", "tiny")["train"]["kimg"] == load_params().scale("tiny")["learning_kimg"]
    assert resolve_run("r3gan", "t1-gan-r1", "paper")["train"]["kimg"] == 10_000
