"""The binding's copy of the C ABI against include/psample.h: the generated files are what
bindings/gen.py makes of the committed header, and the C compiler agrees with ctypes on every
struct layout and with the package on every constant."""

import ctypes
import functools
import importlib.util
import pathlib
import shutil
import subprocess
import tempfile

import psample
from psample import _abi

BINDINGS = pathlib.Path(__file__).resolve().parents[2]
INCLUDE = BINDINGS.parent / "include"


@functools.lru_cache(maxsize=None)
def load_gen():
    spec = importlib.util.spec_from_file_location("gen", BINDINGS / "gen.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    return gen


def test_generated_files_match_the_header():
    gen = load_gen()
    for path, text in gen.generate().items():
        assert pathlib.Path(path).read_text() == text, (
            f"{path} is stale: run `python3 bindings/gen.py` and commit it")


def c_facts():
    """What the C compiler says: 'const NAME VALUE', 'size STRUCT N', 'field STRUCT NAME OFFSET SIZE'."""
    gen = load_gen()
    constants, structs = gen.parse((INCLUDE / "psample.h").read_text())
    lines = ["#include <stddef.h>", "#include <stdio.h>", "#include <psample.h>", "int main(void) {"]
    for name, _value, _comment in constants:
        lines.append(f'    printf("const {name} %llu\\n", (unsigned long long)PSAMPLE_{name});')
    for struct, fields in structs.items():
        lines.append(f'    printf("size {struct} %zu\\n", sizeof(struct {struct}));')
        for f in fields:
            lines.append(f'    printf("field {struct} {f.name} %zu %zu\\n", offsetof(struct {struct}, {f.name}), '
                         f'sizeof(((struct {struct} *)0)->{f.name}));')
    lines += ["    return 0;", "}"]
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    assert cc, "no C compiler (cc, gcc, clang) to compare the layouts with"
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = pathlib.Path(tmp, "layout.c"), pathlib.Path(tmp, "layout")
        src.write_text("\n".join(lines) + "\n")
        subprocess.run([cc, "-std=c11", "-Wall", "-Werror", "-I", str(INCLUDE), "-o", str(exe), str(src)], check=True)
        out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    return [line.split() for line in out.splitlines()], len(constants), len(structs)


def test_ctypes_layouts_and_constants_match_the_c_compiler():
    facts, n_constants, n_structs = c_facts()
    assert n_constants > 40 and n_structs == 6  # the parser found the header's contents
    checked = 0
    for fact in facts:
        if fact[0] == "const":
            name, value = fact[1], int(fact[2])
            assert getattr(_abi, name) == value, name
            if not name.startswith(("VERSION_", "MAX_STRUCT_SIZE")) and "_SIZE_V1" not in name:
                assert getattr(psample, name) == value, f"psample.{name}"
        elif fact[0] == "size":
            assert ctypes.sizeof(getattr(_abi, _abi_name(fact[1]))) == int(fact[2]), fact
        else:
            struct, field, offset, size = fact[1], fact[2], int(fact[3]), int(fact[4])
            descriptor = getattr(getattr(_abi, _abi_name(struct)), field)
            assert (descriptor.offset, descriptor.size) == (offset, size), f"{struct}.{field}"
        checked += 1
    assert checked == len(facts) > 100


def _abi_name(struct):
    return load_gen().CTYPES_NAMES[struct]


def test_enum_classes_hold_the_constants():
    assert psample.SUB_NONBLOCK is psample.SubFlag.NONBLOCK and psample.SubFlag.NONBLOCK == 1
    assert psample.Kind.GROUP_DELETED == psample.KIND_GROUP_DELETED
    assert psample.Field.TUNNEL == psample.FIELD_TUNNEL and psample.TunnelField.ID == psample.TUNNEL_FIELD_ID
    assert psample.PacketFlag.USERSPACE == psample.PKT_F_USERSPACE
    assert isinstance(psample.SUB_CONFIG_EVENTS | psample.SUB_NO_SAMPLES, psample.SubFlag)


def test_enum_classes_are_the_headers_families():
    # Each IntFlag/IntEnum class holds exactly its PSAMPLE_<family>_* constants, with the values
    # the C compiler gives them (not the values parsed from the text).
    facts, _n, _s = c_facts()
    compiled = {f[1]: int(f[2]) for f in facts if f[0] == "const"}
    classes = 0
    for prefix, _go, _gotype, cls_name, _base, _doc in load_gen().FAMILIES:
        if not cls_name:
            continue
        cls = getattr(psample, cls_name)
        want = {name[len(prefix):]: value for name, value in compiled.items() if name.startswith(prefix)}
        assert {m.name: m.value for m in cls} == want, cls_name
        classes += 1
    assert classes == 5
