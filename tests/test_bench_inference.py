"""benchmarks/bench_inference.py --onnx: the ONNX Runtime / MXNet rows, on a few texts, once."""
from benchmarks.bench_inference import ONNX_BATCHES, onnx_rows

TEXTS = ["Stocks rally as the central bank holds rates", "The home team wins the cup final",
         "New chip doubles battery life", "Rebels sign a ceasefire"] * 2


def test_onnx_rows_give_a_ratio_per_batch_size(tmp_path):
    rows, difference = onnx_rows(TEXTS, repeat=1, folder=tmp_path)
    assert [row[0] for row in rows] == list(ONNX_BATCHES) and difference < 1e-5
    assert all(float(ratio) > 0 for *_, ratio in rows)
