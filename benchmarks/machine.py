"""What a benchmark ran on: printed above every table so figures carry their machine."""
import os
import platform


def cpu_model():
    """The CPU's model name, from /proc/cpuinfo where there is one."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe():
    """One paragraph: CPU, cores, Python, MXNet and its enabled features, GPUs."""
    import mxnet as mx

    features = [name for name, feature in mx.runtime.Features().items() if feature.enabled]
    gpus = mx.context.num_gpus() if "CUDA" in features else 0
    return (f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"MXNet {mx.__version__} ({', '.join(features)}), GPUs: {gpus}")


def table(rows, headers):
    """A GitHub-flavoured markdown table from a list of tuples."""
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in rows])


def write_section(name, text, path=None):
    """Replace (or add) the section ``name`` of benchmarks/README.md with ``text`` and today's date."""
    import datetime
    import re
    from pathlib import Path

    path = Path(path or Path(__file__).with_name("README.md"))
    content = path.read_text(encoding="utf-8") if path.is_file() else "# Benchmark results\n"
    begin, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    block = f"{begin}\n### {name} ({datetime.date.today().isoformat()})\n\n{text}\n{end}"
    if begin in content:
        content = re.sub(re.escape(begin) + r".*?" + re.escape(end), lambda _: block, content, flags=re.S)
    else:
        content = content.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(content, encoding="utf-8")
