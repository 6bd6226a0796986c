#!/usr/bin/env python3
"""Generates the bindings' copy of the C ABI from include/psample.h, the one source of its facts.

    python3 bindings/gen.py           # rewrite the generated files
    python3 bindings/gen.py --check   # exit 1, with a diff, when they differ from the header

Writes bindings/python/src/psample/_abi.py (constants as enum classes, ctypes structures, record
dataclasses and their conversions) and bindings/go/abi_generated.go (typed constants, record
structs and their conversions from cgo's C structs). Adding a field to a public struct, or a
PSAMPLE_* constant to a known family, needs no hand edit in the bindings: rerun this script.
A field of a kind this script cannot convert is an error here, not a silent omission.

Standard library only: it parses the header as cbindgen writes it (`// comment` lines, then
`#define PSAMPLE_NAME integer` or a `struct psample_NAME { type field; ... };` block).
"""

import argparse
import difflib
import os
import re
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER = os.path.join(ROOT, "include", "psample.h")
PY_OUT = os.path.join(ROOT, "bindings", "python", "src", "psample", "_abi.py")
GO_OUT = os.path.join(ROOT, "bindings", "go", "abi_generated.go")

# Constant families: header prefix (after PSAMPLE_), Go name prefix, Go type ("" = untyped),
# Python enum class and its base ("" = plain module-level ints). Defines outside these families
# (versions, *_SIZE_V1) reach Python as private-use ints only.
FAMILIES = [
    ("SUB_", "Flag", "uint32", "SubFlag", "IntFlag", "Subscription flags (psample_opts.flags)."),
    ("KIND_", "Kind", "uint32", "Kind", "IntEnum", "Record kinds (psample_packet.kind)."),
    ("PKT_F_", "Packet", "uint32", "PacketFlag", "IntFlag", "Packet flags (psample_packet.flags)."),
    ("FIELD_", "Field", "uint64", "Field", "IntFlag",
     "Presence bits of psample_packet.fields: bit N is set when PSAMPLE_ATTR N was present."),
    ("TUNNEL_FIELD_", "Tunnel", "uint32", "TunnelField", "IntFlag",
     "Presence bits of psample_tunnel.fields; for the flags, the bit is the whole value."),
    ("MAX_", "Max", "", "", "", "Limits of the options."),
]
# Go's named type for each typed constant family, and whether its values are bit sets (String
# joins the names of the bits) or enumerations. The records' fields that hold them use the type.
GO_TYPES = {"SUB_": ("SubFlags", True), "KIND_": ("Kind", False), "PKT_F_": ("PacketFlags", True),
            "FIELD_": ("Fields", True), "TUNNEL_FIELD_": ("TunnelFields", True)}
GO_FIELD_TYPES = {("psample_packet", "fields"): "Fields", ("psample_packet", "kind"): "Kind",
                  ("psample_packet", "flags"): "PacketFlags", ("psample_tunnel", "fields"): "TunnelFields"}
# Limits that concern C callers only (the bindings pass sizeof of cgo's or their own structs).
GO_SKIP = {"MAX_STRUCT_SIZE"}

# The structs the bindings copy into records: C name -> (record name, presence-bit family of its
# fields, Go doc, Python doc). The header's field comments document the fields.
RECORDS = {
    "psample_tunnel": ("Tunnel", "TUNNEL_FIELD_",
                       "Tunnel is the tunnel key of a sample taken after decapsulation (nil in Packet when\n"
                       "absent). Addresses are the zero netip.Addr when absent; the option bytes are copies.",
                       "The tunnel key of a sample taken after decapsulation. Addresses are None when absent."),
    "psample_packet": ("Packet", "FIELD_",
                       "Packet is one received record: a sample, or with FlagConfigEvents a group event (Kind).\n"
                       "A value is meaningful only when its Field* bit is set in Fields; absent values are zero.\n"
                       "Data, UserCookie and the tunnel options are copies owned by the Packet.",
                       "One record: a sample, or with SUB_CONFIG_EVENTS a group event (`kind`). A value is\n"
                       "    meaningful only when its FIELD_* bit is set in `fields`; absent values are 0, b\"\" or None."),
    "psample_stats": ("Stats", "", "Stats is the loss accounting of a Sub (struct psample_stats).",
                      "Loss accounting of a subscription (struct psample_stats)."),
    "psample_group_info": ("GroupInfo", "", "GroupInfo is one psample group from ListGroups.",
                           "One psample group from list_groups()."),
    "psample_group_stats": ("GroupStats", "",
                            "GroupStats is what a Sub received of one (namespace, group)\n"
                            "(struct psample_group_stats).",
                            "What a subscription received of one (namespace, group) (struct psample_group_stats)."),
}
# ctypes structure names (the binding passes these to the library); every public struct.
CTYPES_NAMES = {"psample_opts": "_Opts", "psample_tunnel": "_Tunnel", "psample_packet": "_Packet",
                "psample_stats": "_Stats", "psample_group_info": "_GroupInfo",
                "psample_group_stats": "_GroupStats"}

# Go spelling of header words (initialisms, run-together words); others are capitalized.
GO_WORDS = {"ID": "ID", "TC": "TC", "TOS": "TOS", "TTL": "TTL", "TP": "TP", "OAM": "OAM", "FD": "FD",
            "ENOBUFS": "ENOBUFS", "IPV4": "IPv4", "IPV6": "IPv6", "IIFINDEX": "IIfindex",
            "OIFINDEX": "OIfindex", "ORIGSIZE": "OrigSize"}
# Go names of struct fields that read better spelled out than from their C words.
GO_FIELD_NAMES = {"iifindex": "InIfindex", "oifindex": "OutIfindex", "sender_portid": "SenderPortID",
                  "nsid": "NSID"}

SCALARS = {  # C type -> (ctypes, Go)
    "uint8_t": ("ctypes.c_uint8", "uint8"), "uint16_t": ("ctypes.c_uint16", "uint16"),
    "uint32_t": ("ctypes.c_uint32", "uint32"), "uint64_t": ("ctypes.c_uint64", "uint64"),
    "int32_t": ("ctypes.c_int32", "int32"), "size_t": ("ctypes.c_size_t", "uint64"),
}


class Field:
    def __init__(self, ctype, name, count, comment):
        self.ctype, self.name, self.count, self.comment = ctype, name, count, comment

    @property
    def pointer(self):
        return self.ctype.endswith("*")

    @property
    def base(self):
        return self.ctype.replace("const ", "").rstrip("* ")


def parse(text):
    """(constants [(name without PSAMPLE_, value, comment)], structs {name: [Field]}) of a header."""
    constants, structs = [], {}
    comment, current = [], None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("//"):
            comment.append(line[2:].strip())
            continue
        m = re.fullmatch(r"#define PSAMPLE_(\w+) (\d+)", line)
        if m and current is None:
            constants.append((m.group(1), int(m.group(2)), comment))
        elif (m := re.fullmatch(r"struct (psample_\w+) \{", line)):
            current = structs.setdefault(m.group(1), [])
        elif current is not None and line == "};":
            current = None
        elif current is not None and line:
            f = re.fullmatch(r"((?:const )?(?:struct )?\w+(?: \*)?) ?(\w+)(?:\[(\d+)\])?;", line)
            if not f:
                sys.exit(f"gen.py: cannot parse struct field {line!r} in {HEADER}")
            current.append(Field(f.group(1), f.group(2), int(f.group(3)) if f.group(3) else None, comment))
        comment = []
    return constants, structs


def family(name):
    for fam in FAMILIES:
        if name.startswith(fam[0]):
            return fam
    return None


def go_camel(words_upper):
    return "".join(GO_WORDS.get(w, w.capitalize()) for w in words_upper.split("_"))


def go_const(name):
    fam = family(name)
    return fam[1] + go_camel(name[len(fam[0]):])


def go_field(name):
    return GO_FIELD_NAMES.get(name) or go_camel(name.upper())


def record_fields(struct, fields):
    """The fields a record keeps, each as (kind, Field, extra): "int", "bytes" (extra: the length
    field), "addr4"/"addr6" (extra: presence constant), "record" (extra: (C struct, presence))."""
    presence = RECORDS[struct][1]
    names = {f.name for f in fields}
    out = []
    for f in fields:
        if f.name in ("size", "reserved") or (f.name.endswith("_len") and f.name[:-4] in names):
            continue
        if f.pointer and f.base == "uint8_t" and f.name + "_len" in names:
            out.append(("bytes", f, f.name + "_len"))
        elif f.base == "uint8_t" and f.count in (4, 16) and presence:
            out.append(("addr4" if f.count == 4 else "addr6", f, presence + f.name.upper()))
        elif f.base.startswith("struct ") and f.base[7:] in RECORDS and presence and f.count is None:
            out.append(("record", f, (f.base[7:], presence + f.name.upper())))
        elif f.base in SCALARS and not f.pointer and f.count is None:
            out.append(("int", f, None))
        else:
            sys.exit(f"gen.py: no conversion for {struct}.{f.name} ({f.ctype}): teach bindings/gen.py")
    return out


def need_constant(constants, name, where):
    if name not in {c[0] for c in constants}:
        sys.exit(f"gen.py: {where} needs PSAMPLE_{name}, which {HEADER} does not define")


# ---------------------------------------------------------------------------------------- Python

def py_comment(lines, indent):
    return [f"{indent}# {line}".rstrip() for line in lines]


def python(constants, structs):
    out = ['"""The C ABI of libpsample, from include/psample.h: constants, ctypes structures, and the',
           'records the binding copies them into.',
           '',
           'Generated by bindings/gen.py from include/psample.h: do not edit, run `python3 bindings/gen.py`.',
           '"""',
           '',
           'from __future__ import annotations',
           '',
           'import ctypes',
           'import enum',
           'import ipaddress',
           'import struct',
           'from dataclasses import dataclass',
           'from typing import Any, Optional, Sequence, Tuple, Type, TypeVar',
           '',
           '_R = TypeVar("_R")',
           '']
    aliases = []
    for prefix, _go, _gotype, cls, base, doc in FAMILIES:
        members = [c for c in constants if c[0].startswith(prefix)]
        if not cls:
            out.append("")
            out.append(f"# {doc}")
            for name, value, comment in members:
                out += py_comment(comment, "")
                out.append(f"{name} = {value}")
            continue
        out += ["", "", f"class {cls}(enum.{base}):", f'    """{doc}"""', ""]
        for name, value, comment in members:
            out += py_comment(comment, "    ")
            out.append(f"    {name[len(prefix):]} = {value}")
        aliases += [f"{name} = {cls}.{name[len(prefix):]}" for name, _v, _c in members]
    out += ["", "", "# The constants by their header names (PSAMPLE_ dropped), as the binding has always exported them."]
    out += aliases
    public = [fam[3] for fam in FAMILIES if fam[3]] + [c[0] for c in constants if family(c[0])]
    out += ["", "# What `from psample._abi import *` gives the package: its constants.", "__all__ = ["]
    out += [f'    "{name}",' for name in public] + ["]"]
    others = [c for c in constants if not family(c[0])]
    out += ["", "# Other definitions of the header."]
    for name, value, comment in others:
        out += py_comment(comment, "")
        out.append(f"{name} = {value}")

    for struct in CTYPES_NAMES:
        if struct not in structs:
            sys.exit(f"gen.py: {HEADER} has no struct {struct}")
    for struct, fields in structs.items():
        if struct not in CTYPES_NAMES:
            sys.exit(f"gen.py: new struct {struct}: give it a ctypes name in bindings/gen.py")
        out += ["", "", f"class {CTYPES_NAMES[struct]}(ctypes.Structure):", f'    """struct {struct}"""', "",
                "    _fields_ = ["]
        for f in fields:
            if f.pointer:
                t = f"ctypes.POINTER({SCALARS[f.base][0]})"
            elif f.base.startswith("struct "):
                t = CTYPES_NAMES[f.base[7:]]
            else:
                t = SCALARS[f.base][0]
            if f.count:
                t = f"{t} * {f.count}"
            out.append(f'        ("{f.name}", {t}),')
        out.append("    ]")

    # The records are read with one struct.unpack_from per record, in a format built at import
    # time from the ctypes offsets and sizes (so it cannot drift from the layout), and made without
    # their dataclass __init__ (a frozen one calls object.__setattr__ per field): the receive
    # path's cost per sample. Presence tests use plain int masks: an IntFlag operand would build
    # an enum member per test. The records stay frozen dataclasses (eq, repr, hash, immutability).
    out += ["", "", "def _layout(c_struct: Any, fields: Sequence[Tuple[str, str]]) -> struct.Struct:",
            '    """The struct.Struct that reads `fields` of `c_struct` in one call: (name, "u" unsigned,',
            '    "i" signed or "s" bytes) in offset order, the gaps skipped. Checked against ctypes."""',
            '    fmt, at = "=", 0',
            "    for name, sign in fields:",
            "        field = getattr(c_struct, name)",
            "        if field.offset < at:",
            '            raise AssertionError(f"{c_struct.__name__}.{name}: fields out of offset order")',
            '        code = f"{field.size}s" if sign == "s" else {1: "B", 2: "H", 4: "I", 8: "Q"}[field.size]',
            '        fmt += "x" * (field.offset - at) + (code.lower() if sign == "i" else code)',
            "        at = field.offset + field.size",
            "    layout = struct.Struct(fmt)",
            "    if layout.size != at:",
            '        raise AssertionError(f"{c_struct.__name__}: {fmt} is {layout.size} bytes, not {at}")',
            "    return layout",
            "",
            "",
            "# A record is object.__new__ and its attribute dict set whole (one call, a dict display):",
            "# object.__setattr__ also passes a frozen dataclass.",
            "_new: Any = object.__new__",
            "_setattr = object.__setattr__",
            "_string_at = ctypes.string_at"]
    signed = {"int32_t"}
    for struct in RECORDS:
        name, _presence, _godoc, pydoc = RECORDS[struct]
        kept = record_fields(struct, structs[struct])
        ctype = CTYPES_NAMES[struct]
        out += ["", "", "@dataclass(frozen=True)", f"class {name}:", f'    """{pydoc}"""', ""]
        types = {"int": "int", "bytes": "bytes", "addr4": "Optional[ipaddress.IPv4Address]",
                 "addr6": "Optional[ipaddress.IPv6Address]"}
        for kind, f, extra in kept:
            out += py_comment(f.comment, "    ")
            t = f"Optional[{RECORDS[extra[0]][0]}]" if kind == "record" else types[kind]
            out.append(f"    {f.name}: {t}")
        # What the unpack reads, in the struct's (offset) order: ints, pointers and their lengths,
        # addresses as bytes; nested records are read by their own function, when present.
        read = {}
        for kind, f, extra in kept:
            if kind == "int":
                read[f.name] = "i" if f.base in signed else "u"
            elif kind == "bytes":
                read[f.name], read[extra] = "u", "u"
            elif kind in ("addr4", "addr6"):
                read[f.name] = "s"
        if any(kind in ("addr4", "addr6", "record") for kind, _f, _e in kept):
            read["fields"] = "u"
        order = [f.name for f in structs[struct] if f.name in read]
        clash = {"buf", "offset", "cls", "r"} & set(order)
        if clash:
            sys.exit(f"gen.py: {struct} field names {sorted(clash)} clash with the converter's locals")
        fn = re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()
        const = f"_{fn.upper()}_LAYOUT"
        out += ["", "", f"{const} = _layout({ctype}, ["]
        out += [f'    ("{n}", "{read[n]}"),' for n in order] + ["])"]
        out += ["", "", f"def {fn}_from_buffer(buf: Any, offset: int, cls: Type[_R]) -> _R:",
                f'    """A `cls` ({name} or a subclass) copied from the struct {struct} at `offset` of `buf`',
                '    (a ctypes object or array)."""']
        out += ["    ("] + textwrap.wrap(" ".join(n + "," for n in order), 96, initial_indent=" " * 8,
                                        subsequent_indent=" " * 8)
        out += [f"    ) = {const}.unpack_from(buf, offset)", "    r: _R = _new(cls)",
                "    _setattr(r, \"__dict__\", {"]
        for kind, f, extra in kept:
            note = ""
            if kind == "int":
                v = f.name
            elif kind == "bytes":
                v = f'_string_at({f.name}, {extra}) if {f.name} else b""'
            elif kind in ("addr4", "addr6"):
                need_constant(constants, extra, f"{struct}.{f.name}")
                cls = "IPv4Address" if kind == "addr4" else "IPv6Address"
                mask = dict((c[0], c[1]) for c in constants)[extra]
                v, note = f"ipaddress.{cls}({f.name}) if fields & {mask} else None", f"  # {extra}"
            else:
                need_constant(constants, extra[1], f"{struct}.{f.name}")
                mask = dict((c[0], c[1]) for c in constants)[extra[1]]
                sub = RECORDS[extra[0]][0]
                subfn = re.sub(r"(?<!^)([A-Z])", r"_\1", sub).lower()
                v = (f"{subfn}_from_buffer(buf, offset + {ctype}.{f.name}.offset, {sub}) "
                     f"if fields & {mask} else None")
                note = f"  # {extra[1]}"
            out.append(f'        "{f.name}": {v},{note}')
        out += ["    })", "    return r"]
        out += ["", "", f"def {fn}_from_c(c: {ctype}, cls: Type[_R]) -> _R:",
                f'    """Copies a struct {struct} into a `cls` ({name} or a subclass)."""',
                f"    return {fn}_from_buffer(c, 0, cls)"]
    return "\n".join(out).replace("\n\n\n\n", "\n\n\n") + "\n"


# -------------------------------------------------------------------------------------------- Go

def go_comment(lines, indent, first=None):
    lines = list(lines)
    if first:
        lines = [first + "."] + lines
    return [f"{indent}// {line}".rstrip() for line in lines]


def golang(constants, structs):
    out = ["// Code generated by bindings/gen.py from include/psample.h; DO NOT EDIT.",
           "// Run `python3 bindings/gen.py` after changing the header.",
           "",
           "package psample",
           "",
           "// #include <psample.h>",
           'import "C"',
           "",
           "import (",
           '\t"net/netip"',
           '\t"strconv"',
           '\t"unsafe"',
           ")"]
    for prefix, goprefix, gotype, _cls, _base, doc in FAMILIES:
        members = [c for c in constants if c[0].startswith(prefix) and c[0] not in GO_SKIP]
        typename, bits = GO_TYPES.get(prefix, (None, False))
        if typename:
            out += ["", f"// {typename} is the type of the {doc[0].lower() + doc[1:]}", f"type {typename} {gotype}"]
            gotype = typename
        out += ["", f"// {doc}", "const ("]
        for i, (name, _value, comment) in enumerate(members):
            if i:
                out.append("")
            gname = go_const(name)
            out += go_comment(comment, "\t", f"{gname} is PSAMPLE_{name}")
            out.append(f"\t{gname} {gotype} = C.PSAMPLE_{name}".replace("  ", " "))
        out.append(")")
        if not typename:
            continue
        short = [(go_const(name), go_const(name)[len(goprefix):]) for name, _v, _c in members]
        recv = typename[0].lower()
        if bits:
            table = typename[0].lower() + typename[1:] + "Names"
            out += ["", f"var {table} = []bitName{{"] + [f'\t{{uint64({g}), "{n}"}},' for g, n in short] + ["}"]
            out += ["", f"// String names the set bits, joined by \"|\" (\"{short[0][1]}|{short[-1][1]}\"); unknown bits",
                    "// in hex, no bit \"0\".",
                    f"func ({recv} {typename}) String() string {{ return bitsString(uint64({recv}), {table}) }}"]
        else:
            out += ["", f"// String is the constant's name without \"{goprefix}\" (\"{short[0][1]}\"), or \"{typename}(N)\".",
                    f"func ({recv} {typename}) String() string {{", f"\tswitch {recv} {{"]
            for g, n in short:
                out += [f"\tcase {g}:", f'\t\treturn "{n}"']
            out += ["\t}", f'\treturn "{typename}(" + strconv.FormatUint(uint64({recv}), 10) + ")"', "}"]

    for struct in RECORDS:
        name, _presence, godoc, _pydoc = RECORDS[struct]
        kept = record_fields(struct, structs[struct])
        out += [""] + [f"// {line}" for line in godoc.split("\n")]
        out.append(f"type {name} struct {{")
        for kind, f, extra in kept:
            out += go_comment(f.comment, "\t")
            if kind == "record":
                t = "*" + RECORDS[extra[0]][0]
            else:
                t = ({"bytes": "[]byte", "addr4": "netip.Addr", "addr6": "netip.Addr"}.get(kind)
                     or GO_FIELD_TYPES.get((struct, f.name)) or SCALARS[f.base][1])
            out.append(f"\t{go_field(f.name)} {t}")
        out.append("}")

        # Records that carry bytes are copied into an arena (one allocation per received batch)
        # and written in place, so a caller's reused []Packet costs no allocation per record.
        lower = name[0].lower() + name[1:]
        fn = lower + "FromC"
        copies = any(kind in ("bytes", "record") for kind, _f, _e in kept)
        if copies:
            out += ["", f"// {lower}Bytes is how many bytes {fn} copies out of c into the arena.",
                    f"func {lower}Bytes(c *C.struct_{struct}) int {{", "\tn := 0"]
            for kind, f, extra in kept:
                if kind == "bytes":
                    out += [f"\tif c.{f.name} != nil {{", f"\t\tn += int(c.{extra})", "\t}"]
                elif kind == "record":
                    sub = RECORDS[extra[0]][0]
                    out += [f"\tif c.fields&C.PSAMPLE_{extra[1]} != 0 {{",
                            f"\t\tn += {sub[0].lower() + sub[1:]}Bytes(&c.{f.name})", "\t}"]
            out += ["\treturn n", "}"]
            out += ["", f"// {fn} overwrites *r with a copy of c; the bytes go to the arena a.",
                    f"func {fn}(c *C.struct_{struct}, r *{name}, a *arena) {{", f"\t*r = {name}{{}}"]
        else:
            out += ["", f"// {fn} copies a struct {struct} into Go memory.",
                    f"func {fn}(c *C.struct_{struct}) (r {name}) {{"]
        later = []
        for kind, f, extra in kept:
            g = go_field(f.name)
            if kind == "int":
                t = GO_FIELD_TYPES.get((struct, f.name)) or SCALARS[f.base][1]
                out.append(f"\tr.{g} = {t}(c.{f.name})")
            elif kind == "bytes":
                out.append(f"\tr.{g} = a.copy(c.{f.name}, c.{extra})")
            elif kind in ("addr4", "addr6"):
                n, ctor = (4, "AddrFrom4") if kind == "addr4" else (16, "AddrFrom16")
                later += [f"\tif r.Fields&{go_const(extra)} != 0 {{",
                          f"\t\tr.{g} = netip.{ctor}(*(*[{n}]byte)(unsafe.Pointer(&c.{f.name})))", "\t}"]
            else:
                sub = RECORDS[extra[0]][0]
                later += [f"\tif r.Fields&{go_const(extra[1])} != 0 {{",
                          f"\t\tr.{g} = a.{sub[0].lower() + sub[1:]}()",
                          f"\t\t{sub[0].lower() + sub[1:]}FromC(&c.{f.name}, r.{g}, a)", "\t}"]
        out += later + (["}"] if copies else ["\treturn r", "}"])
    return "\n".join(out) + "\n"


def generate():
    with open(HEADER, encoding="utf-8") as f:
        constants, structs = parse(f.read())
    return {PY_OUT: python(constants, structs), GO_OUT: golang(constants, structs)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="fail with a diff when a generated file is stale")
    args = ap.parse_args()
    stale = False
    for path, text in generate().items():
        try:
            with open(path, encoding="utf-8") as f:
                old = f.read()
        except FileNotFoundError:
            old = ""
        if old == text:
            continue
        rel = os.path.relpath(path, ROOT)
        if args.check:
            stale = True
            sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), text.splitlines(True),
                                                       f"a/{rel}", f"b/{rel} (from include/psample.h)"))
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"gen.py: wrote {rel}")
    if stale:
        sys.exit("gen.py: generated bindings are stale: run `python3 bindings/gen.py` and commit the result")


if __name__ == "__main__":
    main()
