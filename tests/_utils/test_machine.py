"""`_utils.machine`: the CPU read from /proc/cpuinfo, and its bfloat16 units.

The cpuinfo files are written here in the kernel's format, with the flags of
real CPUs (abridged): an Intel Sapphire Rapids Xeon (AMX and AVX-512 BF16),
a Cooper Lake Xeon (AVX-512 BF16, no AMX) and an AMD EPYC Zen 2 (AVX2 only).
"""

import pytest

from keras_attn_deblur._utils import machine

SAPPHIRE_RAPIDS = (
    "Intel(R) Xeon(R) Platinum 8480+",
    "fpu vme sse sse2 avx avx2 fma avx512f avx512bw avx512vl avx512_vnni avx512_bf16 "
    "amx_bf16 avx512_fp16 amx_tile amx_int8",
)
COOPER_LAKE = (
    "Intel(R) Xeon(R) Platinum 8380H CPU @ 2.90GHz",
    "fpu vme sse sse2 avx avx2 fma avx512f avx512bw avx512vl avx512_vnni avx512_bf16",
)
EPYC_ZEN2 = ("AMD EPYC 7B12", "fpu vme sse sse2 avx avx2 fma f16c sha_ni")


def write_cpuinfo(folder, model_name, flags, processors=2):
    """A /proc/cpuinfo of `processors` identical processors."""
    blocks = [
        f"processor\t: {index}\nvendor_id\t: x\nmodel name\t: {model_name}\n"
        f"flags\t\t: {flags}\nbogomips\t: 4000.00\n"
        for index in range(processors)
    ]
    path = folder / "cpuinfo"
    path.write_text("\n".join(blocks))
    return str(path)


@pytest.mark.parametrize(
    "cpu, units, described",
    [(SAPPHIRE_RAPIDS, ("AMX", "AVX-512 BF16"), "AVX-512 BF16, AMX"),
     (COOPER_LAKE, ("AVX-512 BF16",), "AVX-512 BF16, no AMX"),
     (EPYC_ZEN2, (), "no AVX-512 BF16, no AMX")],  # fmt: skip
)
def test_bfloat16_units_come_from_the_cpu_flags(tmp_path, monkeypatch, cpu, units, described):
    monkeypatch.setattr(machine, "CPUINFO_PATH", write_cpuinfo(tmp_path, *cpu))
    assert machine.bfloat16_units() == units
    name, flags = machine.cpu_info()
    assert "(R)" not in name and name.split()[0] in ("Intel", "AMD")
    assert "avx2" in flags
    assert described in machine.describe_cpu()


def test_no_cpuinfo_means_no_bfloat16_units(tmp_path, monkeypatch):
    monkeypatch.setattr(machine, "CPUINFO_PATH", str(tmp_path / "missing"))
    assert machine.bfloat16_units() == ()


@pytest.mark.parametrize(
    "capability, native",
    [((7, 0), False), ("7.5", False), ((8, 0), True), ("8.6", True), ("9.0", True),
     (None, False)],  # fmt: skip
)
def test_bfloat16_tensor_cores_from_the_compute_capability(capability, native):
    # V100 7.0 and T4 7.5 have none; A100 8.0, RTX 30x0 8.6 and H100 9.0 do.
    assert machine._is_ampere_or_later(capability) is native
