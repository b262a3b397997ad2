"""benchmarks/bench_training.py's arithmetic and bookkeeping (the timing itself is a benchmark, not a test)."""
import inspect

from benchmarks.bench_training import (
    OPENBLAS_KERNEL_VARIABLES,
    VARIANTS,
    matmul_line,
    matmul_worker,
    report,
    training_flops_per_sample,
    variant_env,
)
from crepe.arithmetic import conv_multiply_adds

MATMULS = {"numpy": {"flops_per_s": 400e9, "blas": "openblas 0.3.20, Zen kernel, 2 threads"},
           "mxnet": {"flops_per_s": 90e9, "blas": "openblas 0.3.13, Zen kernel, 2 threads"}}


def test_training_flops_per_sample_matches_a_hand_count_of_crepe_small():
    # The six convolutions at 1014-column frames: (input channels, maps, width, output length) by hand.
    convolutions = [conv_multiply_adds(c, 256, k, n)
                    for c, k, n in [(69, 7, 1008), (256, 7, 330), (256, 3, 108), (256, 3, 106), (256, 3, 104),
                                    (256, 3, 102)]]
    dense = 34 * 256 * 1024 + 1024 * 1024 + 1024 * 4
    forward = sum(convolutions) + dense
    assert training_flops_per_sample() == 2 * (3 * forward - convolutions[0])


def test_training_flops_per_sample_defaults_are_the_network_the_benchmark_trains():
    from crepe.model import SIZES
    from crepe.quantise import FRAME_LENGTH

    defaults = {name: p.default for name, p in inspect.signature(training_flops_per_sample).parameters.items()}
    assert (defaults["length"], defaults["filters"], defaults["units"]) == (FRAME_LENGTH, *SIZES["small"][:2])


def test_report_gives_training_flops_and_share_of_the_reference():
    rates = dict.fromkeys(VARIANTS, 100.0) | {"torch": 50.0}
    row = next(line for line in report(rates, 128, 2e9, 400e9).splitlines() if VARIANTS["mx-hybrid"] in line)
    assert [cell.strip() for cell in row.split("|")[2:-1]] == ["100.0", "2.00x", "200.0", "50%"]


def test_report_marks_every_column_of_a_variant_that_did_not_run():
    rates = dict.fromkeys(VARIANTS, 100.0) | {"torch": None}
    row = next(line for line in report(rates, 128, 2e9, 400e9).splitlines() if VARIANTS["torch"] in line)
    assert [cell.strip() for cell in row.split("|")[2:-1]] == ["not installed", "-", "-", "-"]


def test_variant_env_unsets_the_openblas_kernel_variables_for_numpy_s_matmul_only():
    base = {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "1048576", "PATH": "/bin"}
    assert not set(OPENBLAS_KERNEL_VARIABLES) & set(variant_env("matmul-numpy", base))
    assert all(variant_env(v, base)["OPENBLAS_CORETYPE"] == "Haswell" for v in ("matmul-mxnet", "mx-hybrid"))


def test_variant_env_gives_the_matmuls_the_training_variants_threads():
    threads = {v: variant_env(v, {}).get("OMP_NUM_THREADS") for v in ("matmul-numpy", "matmul-mxnet", "mx-hybrid")}
    assert len(set(threads.values())) == 1 and None not in threads.values()


def test_matmul_line_names_both_rates_the_reference_and_the_environment():
    text = matmul_line(MATMULS, 2048, 3, {"OPENBLAS_CORETYPE": "Haswell"})
    assert "numpy sgemm 400.0 GFLOP/s" in text and "MXNet nd.dot 90.0 GFLOP/s" in text
    assert "OPENBLAS_CORETYPE=Haswell, OPENBLAS_L2_SIZE=(unset)" in text and "against numpy's sgemm" in text


def test_matmul_worker_returns_a_rate_and_numpy_s_blas():
    result = matmul_worker("numpy", 128, 1)
    assert result["flops_per_s"] > 0 and "openblas" in result["blas"]


def test_training_flops_per_sample_doctest_holds():
    import doctest

    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(training_flops_per_sample, "training_flops_per_sample"):
        runner.run(test)
    assert runner.summarize(verbose=False) == doctest.TestResults(failed=0, attempted=1)
