"""``wg online``: train, predict and serve the online learner with VW/FW flag names."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import Any

import click

COMMON: dict[str, Any] = {"context_settings": {"help_option_names": ["-h", "--help"]}}


def _run(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a library function, turning its domain errors into click errors."""
    from wg_io.output import OutputError
    from wg_io.structure import InputError
    from wg_online.model import OptionsError

    try:
        return func(*args, **kwargs)
    except OptionsError as exc:
        raise click.UsageError(str(exc)) from None
    except (ValueError, OSError, OutputError, InputError) as exc:
        raise click.ClickException(str(exc)) from None


def _check_outputs(outputs: list[str | None], inputs: list[str | None]) -> None:
    """Refuse an output path before any work: an input, a folder, a missing folder (wg_io)."""
    from wg_io.output import resolve_target

    sources = [p for p in inputs if p is not None and p != "-"]
    for path in outputs:
        if path is not None and path != "-":
            _run(resolve_target, path, inputs=sources)


def _positive_seconds(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not math.isfinite(value) or value <= 0:
        raise click.BadParameter(f"{value!r} is not a finite number of seconds > 0")
    return value


def _given(opts: dict[str, Any]) -> dict[str, Any]:
    """The model options the user typed (not defaults): checked against a model given by -i."""
    ctx = click.get_current_context()
    cli_names = {"interactions": "quadratic", "ffm_fields": "ffm_field", "transforms": "transform"}
    given = {}
    for key, value in opts.items():
        source = ctx.get_parameter_source(cli_names.get(key, key))
        if source is not None and source.name == "COMMANDLINE":
            given[key] = value
    return given


def _stderr(quiet: bool) -> Any:
    return None if quiet else sys.stderr


def _warm_up(quiet: bool) -> None:
    """Load (or, on a cold numba cache, compile with a notice) the kernels before the run."""
    from wg_online.training import warm_up

    warm_up(_stderr(quiet))


@click.group(**COMMON)
def online() -> None:
    """Train, predict and serve the online learner (VW text format, VW hashing)."""


@online.command(**COMMON)
@click.option("-d", "--data", required=True, help="VW text file (plain, .gz, .zst) or - for stdin.")
@click.option("-f", "--final_regressor", "model_out", help="Write the trained model here.")
@click.option("-i", "--initial_regressor", "initial", help="Continue training this model.")
@click.option("-b", "--bit_precision", type=int, default=18, show_default=True)
@click.option("-q", "--quadratic", multiple=True, help="Namespace pair to cross, e.g. -q ab.")
@click.option("--cubic", multiple=True, help="Namespace triple to cross, e.g. --cubic abc.")
@click.option(
    "--interactions", multiple=True, help="Namespaces to cross: a pair or a triple (ab, abc)."
)
@click.option("--keep", multiple=True, help="Use only these namespaces (first letters).")
@click.option("--ignore", multiple=True, help="Drop these namespaces (first letters).")
@click.option("-l", "--learning_rate", type=float, default=0.5, show_default=True)
@click.option("--power_t", type=float, default=0.5, show_default=True)
@click.option("--l2", type=float, default=0.0, show_default=True)
@click.option("--passes", type=click.IntRange(1), default=1, show_default=True)
@click.option("-c", "--cache", is_flag=True, help="Use/create the binary cache DATA.cache.")
@click.option("--cache_file", help="Cache path (implies -c).")
@click.option("--ffm_k", type=click.IntRange(0), default=0, help="FFM embedding size (0: off).")
@click.option("--ffm_field", multiple=True, help="One FFM field: its namespace letters.")
@click.option(
    "--ffm_bit_precision",
    type=int,
    default=18,
    show_default=True,
    help="FFM table of 2^N weights, shared by all features' blocks as in FW.",
)
@click.option(
    "--ffm_layout",
    type=click.Choice(["fw", "blocks"]),
    default="fw",
    show_default=True,
    help="fw: FW's table; blocks: 2^N hash buckets of fields*k weights each (format 1).",
)
@click.option("--ffm_learning_rate", type=float, default=0.1, show_default=True)
@click.option("--ffm_init_width", type=click.FloatRange(min=0), help="FW's FFM init (0: default).")
@click.option("--ffm_init_center", type=float, help="FW: added when --ffm_init_width > 0.")
@click.option("--ffm_init_zero_band", type=float, help="FW: share of the width kept off 0.")
@click.option(
    "--ffm_init_acc_gradient",
    type=float,
    default=0.0,
    show_default=True,
    help="FW: where the FFM weights' AdaGrad sums start.",
)
@click.option("--noconstant", is_flag=True, help="No bias feature.")
@click.option("--holdout_after", type=click.IntRange(0), default=0, help="FW: learn examples < N.")
@click.option("--predictions_after", type=click.IntRange(0), default=0, help="FW: -p from N+1.")
@click.option(
    "--prediction_model_delay",
    type=click.IntRange(0),
    default=0,
    help="FW: predict example n with the model of examples 1..n-D-1.",
)
@click.option("--minimum_learning_rate", type=float, default=0.0, help="FW's; stored, no effect.")
@click.option("--nn_layers", type=int, default=0, show_default=True, help="Deep layers (FW).")
@click.option("--nn", multiple=True, help="A layer option LAYER:KEY:VALUE, e.g. 0:width:32.")
@click.option("--nn_topology", default="one", show_default=True, help="one, two, four or five.")
@click.option("--nn_learning_rate", type=float, help="[default: --ffm_learning_rate]")
@click.option("--nn_power_t", type=float, help="[default: --power_t]")
@click.option("--nn_init_acc_gradient", type=float, default=1.0, show_default=True)
@click.option(
    "--transform",
    multiple=True,
    help="FW transform 'target=Func(namespaces)(numbers)', e.g. 'bp=BinnerLog(price)(0,10)'.",
)
@click.option(
    "--linear",
    multiple=True,
    help="FW LR combo 'name1[,name2...][:w]' of full namespace names (or transform targets).",
)
@click.option(
    "--namespace_map", help="FW-style map file 'letter,namespace' per line; undeclared = error."
)
@click.option(
    "--vwcompat", is_flag=True, help="Train as `vw --loss_function logistic` with the same flags."
)
@click.option("--sgd", is_flag=True, help="--vwcompat: VW's plain SGD switch.")
@click.option("--adaptive", is_flag=True, help="--vwcompat: VW's adaptive (AdaGrad) updates.")
@click.option("--normalized", is_flag=True, help="--vwcompat: VW's normalized updates.")
@click.option("--invariant", is_flag=True, help="--vwcompat: VW's importance-invariant updates.")
@click.option("--initial_t", type=float, help="--vwcompat: VW's starting example counter.")
@click.option("--l1", type=float, default=0.0, show_default=True, help="--vwcompat: VW's L1.")
@click.option("--holdout_off", is_flag=True, help="--vwcompat: no holdout with --passes.")
@click.option("--holdout_period", type=click.IntRange(1), default=10, show_default=True)
@click.option("--early_terminate", type=click.IntRange(1), default=3, show_default=True)
@click.option("--threads", type=click.IntRange(1), default=1, help="Hogwild training threads.")
@click.option(
    "--skip-bad-lines", "--skip_bad_lines", is_flag=True, help="Skip and count bad lines."
)
@click.option("--save_resume", is_flag=True, help="Keep AdaGrad state in the model file.")
@click.option("-p", "--predictions", help="Write progressive predictions here (- for stdout).")
@click.option("--quiet", is_flag=True, help="No progress lines or summary.")
def train(**kw: Any) -> None:
    """Train a model: wg online train -d DATA -f MODEL [-q ab] [--ffm_k 4 --ffm_field a ...]."""
    from wg_online.model import Options
    from wg_online.schedule import Schedule
    from wg_online.training import train as run_train

    opts = {k: kw[k] for k in _PLAIN_OPTIONS} | _deep_options(kw)
    opts["interactions"] = tuple(kw["quadratic"]) + tuple(kw["cubic"]) + tuple(kw["interactions"])
    opts["keep"], opts["ignore"] = "".join(kw["keep"]), "".join(kw["ignore"])
    opts["ffm_fields"] = tuple(kw["ffm_field"])
    opts["transforms"] = tuple(kw["transform"])
    opts["linear"] = tuple(kw["linear"])
    for key in ("ffm_init_width", "ffm_init_center", "ffm_init_zero_band"):
        if kw[key] is not None:  # absent: wg_online's initialiser
            opts[key] = kw[key]
    if kw["namespace_map"]:
        from wg_online.vw_format import load_namespace_map

        opts["namespace_map"] = _run(load_namespace_map, kw["namespace_map"])
    cache = kw["cache_file"] or (f"{kw['data']}.cache" if kw["cache"] else None)
    if cache == "-.cache":
        raise click.UsageError("-c with -d - needs --cache_file PATH")
    vw = _vw_flags(kw)
    options = _run(Options, **opts)
    sources = [kw["data"], cache, kw["namespace_map"]]
    _check_outputs([kw["model_out"]], sources)  # -f may be -i: it is read whole first, as in VW
    _check_outputs([kw["predictions"]], [*sources, kw["initial"]])
    _check_outputs([cache], [kw["data"], kw["initial"], kw["namespace_map"]])
    _warm_up(kw["quiet"])
    _run(
        run_train,
        kw["data"],
        kw["model_out"],
        options,
        initial=kw["initial"],
        passes=kw["passes"],
        cache=cache,
        threads=kw["threads"],
        skip_bad_lines=kw["skip_bad_lines"],
        save_resume=kw["save_resume"],
        predictions=kw["predictions"],
        progress=_stderr(kw["quiet"]),
        overrides=_given(opts),
        vw=vw,
        schedule=_run(
            Schedule, kw["holdout_after"], kw["predictions_after"], kw["prediction_model_delay"]
        ),
    )


_PLAIN_OPTIONS = (
    *("bit_precision", "learning_rate", "power_t", "l2", "noconstant", "vwcompat", "ffm_k"),
    *("ffm_bit_precision", "ffm_learning_rate", "ffm_init_acc_gradient", "ffm_layout"),
    "minimum_learning_rate",
)
"""``train``'s flags that are Options fields of the same name, as given."""


def _deep_options(kw: dict[str, Any]) -> dict[str, Any]:
    """The ``--nn*`` flags as Options fields; the rates, when absent, are inherited (FW's)."""
    opts = {k: kw[k] for k in ("nn_layers", "nn_topology", "nn_init_acc_gradient")}
    opts["nn"] = tuple(kw["nn"])
    opts.update({k: kw[k] for k in ("nn_learning_rate", "nn_power_t") if kw[k] is not None})
    return opts


def _vw_flags(kw: dict[str, Any]) -> Any:
    """VW's gd flags for --vwcompat (``-l`` left to VW's default when not typed)."""
    from wg_online.vw_learner import VW_ONLY, VWFlags

    ctx = click.get_current_context()
    typed = {k for k in kw if (src := ctx.get_parameter_source(k)) and src.name == "COMMANDLINE"}
    if not kw["vwcompat"]:
        stray = [k for k in VW_ONLY if k in typed]
        if stray:
            raise click.UsageError(f"--{stray[0]} is a VW flag: it needs --vwcompat")
        return None
    return _run(
        VWFlags,
        **{k: kw[k] for k in VW_ONLY},
        learning_rate=kw["learning_rate"] if "learning_rate" in typed else None,
        power_t=kw["power_t"],
        l2=kw["l2"],
    )


@online.command(**COMMON)
@click.option("-i", "--initial_regressor", "model", required=True, help="Model file to use.")
@click.option("-d", "--data", required=True, help="VW text file or - for stdin.")
@click.option("-p", "--predictions", default="-", show_default=True, help="Output file.")
@click.option("--skip-bad-lines", "--skip_bad_lines", is_flag=True)
@click.option("--quiet", is_flag=True)
def predict(model: str, data: str, predictions: str, skip_bad_lines: bool, quiet: bool) -> None:
    """Write one probability per example: wg online predict -i MODEL -d DATA -p PREDS."""
    from wg_online.training import predict as run_predict

    _check_outputs([predictions], [model, data])
    _warm_up(quiet)
    _run(run_predict, model, data, predictions, skip_bad_lines, _stderr(quiet))


@online.command(**COMMON)
@click.option("-i", "--initial_regressor", "model", required=True, help="Model file to serve.")
@click.option("--port", type=click.IntRange(0, 65535), default=26542, show_default=True)
@click.option(
    "--poll",
    type=float,
    default=0.2,
    show_default=True,
    callback=_positive_seconds,
    help="Seconds between checks.",
)
def serve(model: str, port: int, poll: float) -> None:
    """Serve predictions on 127.0.0.1:PORT, one example per line; swaps in new model files."""
    from wg_online.serve import serve as run_serve

    _warm_up(False)
    _run(run_serve, model, port, poll, lambda msg: click.echo(msg, err=True))


@online.command(**COMMON)
@click.option("-i", "--initial_regressor", "model", required=True, help="Model file to convert.")
@click.option(
    "--convert_inference_regressor", "target", required=True, help="Write the inference model here."
)
@click.option("--weight_quantization", is_flag=True, help="FW's 16-bit FFM weights.")
@click.option("--quiet", is_flag=True)
def convert(model: str, target: str, weight_quantization: bool, quiet: bool) -> None:
    """Write an inference model: weights only, optionally quantized (FW's conversion)."""
    from wg_online.inference import convert as run_convert

    _check_outputs([target], [model])
    before, after = _run(run_convert, model, target, weight_quantization)
    if not quiet:
        click.echo(f"{target}: {after} bytes ({model}: {before})", err=True)
