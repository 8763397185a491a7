"""This machine in words, for benchmark tables and training budgets."""

import os
import platform


def cpu_info():
    """(model name, set of flags) of the CPU, from /proc/cpuinfo where there is one."""
    name, flags = None, set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as file:
            for line in file:
                key, _, value = (part.strip() for part in line.partition(":"))
                if key == "model name" and name is None:
                    name = value.replace("(R)", "").replace("(TM)", "")
                elif key == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return name or platform.processor() or platform.machine(), flags


def cpu_cores():
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def describe_cpu():
    """E.g. '2 CPU cores (Intel Xeon Processor, AVX-512 BF16, no AMX)': the units that
    decide whether bfloat16 pays (~4x with AMX, none with AVX2 only)."""
    name, flags = cpu_info()
    bf16 = "AVX-512 BF16" if "avx512_bf16" in flags else "no AVX-512 BF16"
    amx = "AMX" if "amx_tile" in flags else "no AMX"
    return f"{cpu_cores()} CPU cores ({name}, {bf16}, {amx})"
